"""Where things are: the settings file, the warehouse file and the local data folder.

Settings come from the environment first (`EBOOK_ANALYTICS_<NAME>`), then from the settings file, then defaults.
The settings file is `EBOOK_ANALYTICS_SETTINGS`, else `$XDG_CONFIG_HOME/ebook-analytics/settings.toml` (by default
`~/.config/ebook-analytics/settings.toml`): the same file whatever directory a command starts in. It holds the same
names in lower case without the prefix (`source_url = "..."`, `home = "/srv/ebook-analytics"`), and the dashboards'
`[auth]` section; it is never committed.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, overload

from pipelines.errors import UserError

SETTINGS_HELP = (
    "Settings: environment variables EBOOK_ANALYTICS_<NAME>, then the settings file (EBOOK_ANALYTICS_SETTINGS, "
    "default ~/.config/ebook-analytics/settings.toml; the same names in lower case without the prefix), then "
    "defaults. The data folder is EBOOK_ANALYTICS_HOME (default ./.ebook-analytics). See the README, Configuration."
)


def settings_file() -> Path:
    """`EBOOK_ANALYTICS_SETTINGS`, else `$XDG_CONFIG_HOME/ebook-analytics/settings.toml` (`~/.config/...`)."""
    configured = os.environ.get("EBOOK_ANALYTICS_SETTINGS")
    if configured:
        return Path(configured).expanduser().absolute()
    config_home = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config_home) / "ebook-analytics" / "settings.toml"


@cache
def _file_settings(path: Path, named: bool) -> dict[str, Any]:
    """The settings in `path`; none when there is no such file, unless `named` by EBOOK_ANALYTICS_SETTINGS (a typo
    there would leave every setting at its default, silently)."""
    if not path.is_file():
        if named:
            raise UserError(
                f"EBOOK_ANALYTICS_SETTINGS names {path}, which is not a file; "
                "correct the path, or unset it to read the default settings file"
            )
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(
            f"cannot read the settings file {path} ({exc}); fix it, or point EBOOK_ANALYTICS_SETTINGS elsewhere"
        ) from exc


@overload
def setting(name: str, default: str) -> str: ...
@overload
def setting(name: str, default: None = None) -> str | None: ...
def setting(name: str, default: str | None = None) -> str | None:
    """An `EBOOK_ANALYTICS_<NAME>` environment variable, else `<name>` in the settings file, else default."""
    value = os.environ.get(f"EBOOK_ANALYTICS_{name.upper()}")
    if value:
        return value
    configured = _file_settings(settings_file(), bool(os.environ.get("EBOOK_ANALYTICS_SETTINGS"))).get(name.lower())
    return default if configured is None or configured == "" else str(configured)  # 0 is a value, not unset


def setting_source(name: str) -> str:
    """Where `setting(name)` was read, for a message about its value: the environment variable, else the settings
    file's key."""
    if os.environ.get(f"EBOOK_ANALYTICS_{name.upper()}"):
        return f"EBOOK_ANALYTICS_{name.upper()}"
    return f"{name.lower()} in {settings_file()}"


def choice_setting(name: str, default: str, choices: tuple[str, ...]) -> str:
    """`setting(name)`, one of `choices`; a one-line error naming where it was read otherwise."""
    value = setting(name, default)
    if value not in choices:
        raise UserError(
            f"{setting_source(name)} is {value!r}; set it to one of {', '.join(choices)} (default {default})"
        )
    return value


_SIZE = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def size_setting(name: str, default: str) -> str:
    """`setting(name)` as a size DuckDB reads (e.g. `1GB`, `512MiB`); a one-line error naming it otherwise (DuckDB's
    own would blame the database it was opening)."""
    value = setting(name, default)
    if not _SIZE.fullmatch(value.strip()):
        raise UserError(
            f"{setting_source(name)} is {value!r}; set it to a size such as 1GB or 512MiB (default {default})"
        )
    return value.strip()


def whole_number_setting(name: str, default: int, unit: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """`setting(name)` as a whole number of `unit` (from `minimum` to `maximum`); a one-line error naming it
    otherwise."""
    value = setting(name, str(default)) or ""
    if not value.isdigit() or int(value) < minimum or (maximum is not None and int(value) > maximum):
        if maximum is not None:
            bounds = f" from {minimum} to {maximum}"
        else:
            bounds = f" of at least {minimum}" if minimum else ""
        raise UserError(
            f"{setting_source(name)} is {value!r}; set it to a whole number of {unit}{bounds} (default {default})"
        )
    return int(value)


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def pgdata(self) -> Path:
        return self.home / "pg"

    @property
    def warehouse(self) -> Path:
        """The published warehouse: its DuckLake catalog file (SQLite), data files beside it (`pipelines.publish.lake`).
        With `warehouse_catalog` (a PostgreSQL catalog) it still names the folder's place: runs, lock, working file."""
        configured = setting("warehouse")
        return Path(configured) if configured else self.home / "warehouse" / "analytics.ducklake"

    @property
    def warehouse_dir(self) -> Path:
        return self.warehouse.parent

    @property
    def run_history(self) -> Path:
        """One JSON object per ETL run (published, blocked or failed): lives beside the warehouse."""
        return self.warehouse_dir / "runs.jsonl"

    @property
    def users_file(self) -> Path:
        return Path(setting("users_file") or self.home / "users.json")


def paths() -> Paths:
    """The local data folder: `EBOOK_ANALYTICS_HOME`, default `./.ebook-analytics`."""
    return Paths(home=Path(setting("home") or ".ebook-analytics").absolute())
