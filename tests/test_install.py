"""`pip install .` (not editable) into a fresh virtual environment, then the CLI from an unrelated directory.

The wheel is built offline from a copy of the checkout and installed without its dependencies; the fresh venv borrows
them from this test's venv through a `.pth` file, so nothing is downloaded. The installed code must find its SQL,
contracts, migrations and dashboard files through its own packages: the checkout is nowhere on its path. Borrowed
are the dependencies of a plain install only: Playwright (the `bench` extra) is left out.
"""

from __future__ import annotations

import json
import re
import shutil
import site
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.conftest import REPO_ROOT, cli_environment

pytestmark = pytest.mark.install

NOT_SHIPPED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".ebook-analytics", "bench-out", ".*_cache"
)
END_DATE = "2026-01-31"  # a fixed history: the same rows on every run
EXTRAS_ONLY = ("playwright", "ebook_analytics", "__editable__")  # not part of a plain install of the wheel


def _run(argv: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, argv))} exited {result.returncode}:\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its bin directory."""
    root = tmp_path_factory.mktemp("install")
    source = root / "checkout"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SHIPPED)  # a copy: the build leaves nothing in the checkout
    wheels = root / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, source])
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    (wheel,) = wheels.glob("ebook_analytics-*.whl")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel])
    # Only now the shared dependencies: pip saw a clean environment. A .pth path is plain sys.path, after the
    # venv's own site-packages, and the .pth files inside it (the checkout's editable install) are not run.
    borrowed = root / "dependencies"
    borrowed.mkdir()
    # (Debian's Python lists folders that may not exist, e.g. `.venv/local/lib/python3.11/dist-packages`.)
    for shared in (path for path in map(Path, site.getsitepackages()) if path.is_dir()):
        for entry in shared.iterdir():
            if not entry.name.lower().startswith(EXTRAS_ONLY) and not (borrowed / entry.name).exists():
                (borrowed / entry.name).symlink_to(entry)
    fresh_site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    (Path(fresh_site) / "shared_dependencies.pth").write_text(f"{borrowed}\n")
    return venv / "bin"


def test_the_installed_cli_runs_from_any_directory(
    installed: Path, create_database: Callable[..., str], tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in cli_environment(tmp_path, create_database()).items() if k != "PYTHONPATH"}

    def cli(*args: str) -> str:
        return _run([installed / "ebook-analytics", *args], env=env, cwd=elsewhere).stdout

    where = _run(
        [installed / "python", "-c", "import pipelines, queries, dashboards; print(pipelines.__file__)"],
        env=env,
        cwd=elsewhere,
    ).stdout
    assert where.startswith(str(installed.parent / "lib")), where  # the wheel's code, not the checkout's

    assert cli("source", "init").startswith("schema version 2 in ")
    seeded = cli("source", "seed", "--scale", "tiny", "--end-date", END_DATE)
    users = int(re.search(r"^users\.users +([\d,]+)$", seeded, re.M)[1].replace(",", ""))
    ran = cli("etl", "run")
    assert re.match(r"published run \S+ \(full, full\): \d+ tables, ", ran), ran
    runs = json.loads(cli("runs", "--json"))
    assert [run["status"] for run in runs] == ["published"]
    assert runs[0]["tables"]["users"]["rows_read"] == users == 40
    assert list(elsewhere.iterdir()) == []  # everything went to the data folder, nothing to the working directory


def test_bench_on_a_plain_install_stops_before_any_work(installed: Path, source_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in cli_environment(tmp_path, source_url).items() if k != "PYTHONPATH"}
    started = time.monotonic()
    result = subprocess.run(
        [installed / "ebook-analytics", "bench", "--scale", "tiny", "--source-url", source_url, "--out", "out"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: the bench's dashboard part needs Playwright, which a plain install lacks: "
        "pip install 'ebook-analytics[bench]', or run `ebook-analytics bench --skip-dashboards`\n"
    )
    assert time.monotonic() - started < 30  # at once: no seeding (tiny alone takes longer on a loaded machine)
    assert not (tmp_path / "home").exists() and not (tmp_path / "out").exists()  # no bench home, no output
    with psycopg.connect(source_url) as conn:
        assert conn.execute("select count(*) from users.users").fetchone() == (0,)
