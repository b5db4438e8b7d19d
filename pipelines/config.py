"""Where things are: the source database, the warehouse file and the local data folder.

Settings come from the environment first, then from `.streamlit/secrets.toml` (never committed), then defaults.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@cache
def _secrets() -> dict:
    path = Path(".streamlit") / "secrets.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        return tomllib.load(handle)


def setting(name: str, default: str | None = None) -> str | None:
    """An `EBOOK_ANALYTICS_<NAME>` environment variable, else the `<name>` key of secrets.toml, else default."""
    value = os.environ.get(f"EBOOK_ANALYTICS_{name.upper()}")
    if value:
        return value
    secret = _secrets().get(name.lower())
    return str(secret) if secret else default


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def pgdata(self) -> Path:
        return self.home / "pg"

    @property
    def warehouse(self) -> Path:
        configured = setting("warehouse")
        return Path(configured) if configured else self.home / "warehouse" / "analytics.duckdb"

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
