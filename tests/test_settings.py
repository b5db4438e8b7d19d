"""Where settings are read: the environment, then one settings file, whatever directory a command starts in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboards.commands import server_command
from pipelines.config import choice_setting, setting, whole_number_setting
from pipelines.errors import UserError
from tests.conftest import REPO_ROOT


def _cli(*args: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess:
    """The CLI started in `cwd`, with no EBOOK_ANALYTICS_* variable but `settings` (and this checkout's code)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EBOOK_ANALYTICS_") and k != "XDG_CONFIG_HOME"}
    env.update(settings, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory holding the old-style `.streamlit/secrets.toml`, which must play no part."""
    directory = tmp_path / "elsewhere"
    (directory / ".streamlit").mkdir(parents=True)
    (directory / ".streamlit" / "secrets.toml").write_text('source_url = "postgresql://cwd@/ignored"\n')
    return directory


def test_the_settings_file_named_by_the_environment(tmp_path: Path, elsewhere: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(f'source_url = "postgresql://reader@/platform"\nhome = "{tmp_path / "data"}"\n')
    url = _cli("source", "url", cwd=elsewhere, EBOOK_ANALYTICS_SETTINGS=str(settings))
    assert (url.returncode, url.stdout, url.stderr) == (0, "postgresql://reader@/platform\n", "")
    runs = _cli("runs", cwd=elsewhere, EBOOK_ANALYTICS_SETTINGS=str(settings))
    assert runs.stdout == f"no runs recorded in {tmp_path}/data/warehouse/runs.jsonl; run `ebook-analytics etl run`\n"
    # The environment beats the file.
    env_wins = _cli(
        "source",
        "url",
        cwd=elsewhere,
        EBOOK_ANALYTICS_SETTINGS=str(settings),
        EBOOK_ANALYTICS_SOURCE_URL="postgresql:///env",
    )
    assert env_wins.stdout == "postgresql:///env\n"


def test_the_default_settings_file_is_in_the_users_config_folder(tmp_path: Path, elsewhere: Path) -> None:
    config = tmp_path / "user" / ".config" / "ebook-analytics"
    config.mkdir(parents=True)
    (config / "settings.toml").write_text('source_url = "postgresql://default@/platform"\n')
    url = _cli("source", "url", cwd=elsewhere, HOME=str(tmp_path / "user"))
    assert url.stdout == "postgresql://default@/platform\n"


def test_a_settings_file_named_but_missing_is_one_line(tmp_path: Path, elsewhere: Path) -> None:
    missing = tmp_path / "setings.toml"
    result = _cli("runs", cwd=elsewhere, EBOOK_ANALYTICS_SETTINGS=str(missing))
    assert (result.returncode, result.stderr) == (
        1,
        f"error: EBOOK_ANALYTICS_SETTINGS names {missing}, which is not a file; correct the path, or unset it to"
        " read the default settings file\n",
    )


def test_a_broken_settings_file_is_one_line(tmp_path: Path, elsewhere: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text("source_url = \n")
    result = _cli("source", "url", cwd=elsewhere, EBOOK_ANALYTICS_SETTINGS=str(settings))
    assert result.returncode == 1
    assert result.stderr == (
        f"error: cannot read the settings file {settings} (Invalid value (at line 1, column 14)); "
        "fix it, or point EBOOK_ANALYTICS_SETTINGS elsewhere\n"
    )


def test_help_says_where_settings_come_from(elsewhere: Path) -> None:
    text = " ".join(_cli("--help", cwd=elsewhere).stdout.split())
    assert (
        "Settings: environment variables EBOOK_ANALYTICS_<NAME>, then the settings file (EBOOK_ANALYTICS_SETTINGS, "
        "default ~/.config/ebook-analytics/settings.toml; the same names in lower case without the prefix), then "
        "defaults." in text
    )


def test_the_dashboard_server_reads_sign_in_from_the_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EBOOK_ANALYTICS_SETTINGS", str(tmp_path / "settings.toml"))
    command = server_command("127.0.0.1", 8599)
    assert command[-1] == f"--secrets.files={tmp_path / 'settings.toml'}"


def _only_the_settings_file(monkeypatch: pytest.MonkeyPatch, folder: Path, text: str) -> Path:
    """This process reads its settings from a file holding `text` alone: no EBOOK_ANALYTICS_* variable is set."""
    settings = folder / "settings.toml"
    settings.write_text(text)
    for name in list(os.environ):
        if name.startswith("EBOOK_ANALYTICS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("EBOOK_ANALYTICS_SETTINGS", str(settings))
    return settings


def test_zero_in_the_settings_file_is_zero_not_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`full_check_hours = 0` (check everything every run) or `reader_copy_max_mb = 0` (copy nothing) mean what they
    say; an empty string is unset, and `false` is not the "1" that switches a flag on."""
    _only_the_settings_file(
        monkeypatch, tmp_path, 'full_check_hours = 0\nreader_copy_max_mb = 0\nno_auth = false\nsmtp_host = ""\n'
    )
    assert setting("full_check_hours", "24") == "0"
    assert whole_number_setting("reader_copy_max_mb", 64, "MB") == 0
    assert setting("no_auth") == "False" and setting("smtp_host") is None
    monkeypatch.setenv("EBOOK_ANALYTICS_FULL_CHECK_HOURS", "6")  # the environment first
    assert setting("full_check_hours", "24") == "6"


@pytest.mark.parametrize(
    ("name", "value", "refusal"),
    [
        ("PUBLICATION_RETENTION_DAYS", "0", "set it to a whole number of days of at least 1 (default 90)"),
        ("CAPTURE", "slot", "set it to one of auto, logical, xmin (default auto)"),
    ],
)
def test_a_malformed_setting_read_late_stops_the_run_before_any_work(
    tmp_path: Path, elsewhere: Path, name: str, value: str, refusal: str
) -> None:
    """Read only at the extract or the publish, after minutes of work at scale: checked before the run takes its
    lock."""
    home = tmp_path / "home"
    result = _cli("etl", "run", cwd=elsewhere, EBOOK_ANALYTICS_HOME=str(home), **{f"EBOOK_ANALYTICS_{name}": value})
    assert (result.returncode, result.stderr) == (1, f"error: EBOOK_ANALYTICS_{name} is {value!r}; {refusal}\n")
    assert not home.exists()


def test_a_malformed_value_names_where_it_was_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings file's key when it came from there (naming the environment variable would send the user to the
    wrong place), the variable when it did; a choice outside its few values is refused like a number."""
    settings = _only_the_settings_file(monkeypatch, tmp_path, 'password_rounds = 100\ncapture = "slot"\n')
    with pytest.raises(UserError) as refused:
        whole_number_setting("password_rounds", 12, "rounds", minimum=4, maximum=31)
    assert str(refused.value) == (
        f"password_rounds in {settings} is '100'; set it to a whole number of rounds from 4 to 31 (default 12)"
    )
    with pytest.raises(UserError) as refused:
        choice_setting("capture", "auto", ("auto", "xmin"))
    assert str(refused.value) == f"capture in {settings} is 'slot'; set it to one of auto, xmin (default auto)"
    monkeypatch.setenv("EBOOK_ANALYTICS_CAPTURE", "Xmin")
    with pytest.raises(UserError, match="^EBOOK_ANALYTICS_CAPTURE is 'Xmin'; set it to one of auto, xmin"):
        choice_setting("capture", "auto", ("auto", "xmin"))
    monkeypatch.setenv("EBOOK_ANALYTICS_CAPTURE", "xmin")
    assert choice_setting("capture", "auto", ("auto", "xmin")) == "xmin"
