"""What the bench needs, checked before it seeds or measures anything: seeding `medium` alone takes minutes.

The dashboard part needs Playwright (the `bench` extra: `pip install 'ebook-analytics[bench]'`) and a Chromium on
PATH (Debian's `chromium`; Playwright's own browser download is not used). `--skip-dashboards` needs neither.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from pipelines.errors import UserError


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def check_prerequisites(*, dashboards: bool, out: Path) -> None:
    """A one-line UserError naming the fix for the first thing missing; nothing is changed but `out` created."""
    if dashboards and importlib.util.find_spec("playwright") is None:
        raise UserError(
            "the bench's dashboard part needs Playwright, which a plain install lacks: "
            "pip install 'ebook-analytics[bench]', or run `ebook-analytics bench --skip-dashboards`"
        )
    if dashboards and find_chromium() is None:
        raise UserError(
            "the bench's dashboard part needs Chromium on PATH: apt-get install chromium, "
            "or run `ebook-analytics bench --skip-dashboards`"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the output folder {out}: {exc.strerror}; pass another --out DIR") from exc
