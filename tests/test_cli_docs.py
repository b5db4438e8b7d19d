"""`docs/cli.md` is generated from the argument parser: it must match it, and the renderer must say what it parses."""

from __future__ import annotations

import argparse

from pipelines.cli import build_parser
from pipelines.cli_docs import DOC_PATH, render


def test_the_cli_reference_matches_the_parser() -> None:
    assert DOC_PATH.read_text() == render(build_parser()), "run `python -m pipelines.cli_docs`"


def test_a_small_parser_renders_exactly() -> None:
    parser = argparse.ArgumentParser(prog="ebook-analytics", description="Top.", epilog="Settings: here.")
    parser.add_argument("--debug", action="store_true", help="tracebacks")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    users = commands.add_parser("users", help="accounts").add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="create | add an account", description="Asks for <password>.")
    add.add_argument("email", help="who")
    add.add_argument("--role", choices=("admin", "analyst"), default="analyst", help="what they see")
    add.add_argument("--limit", type=int, metavar="N", help="at most N")
    commands.add_parser("runs", help="history")
    assert render(parser) == (
        "# Command reference\n\n"
        "Generated from the argument parser by `python -m pipelines.cli_docs`; do not edit by hand.\n\n"
        "Top.\n\n```\nebook-analytics [-h] [--debug] COMMAND ...\n```\n\n"
        "| argument | default | meaning |\n|---|---|---|\n| `--debug` |  | tracebacks |\n\n"
        "Settings: here.\n\n"
        "| command | what it does |\n|---|---|\n"
        "| [`users add`](#ebook-analytics-users-add) | create \\| add an account |\n"
        "| [`runs`](#ebook-analytics-runs) | history |\n\n"
        "## `ebook-analytics users add`\n\ncreate \\| add an account\n\nAsks for &lt;password&gt;.\n\n"
        "```\nebook-analytics users add [-h] [--role {admin,analyst}] [--limit N] email\n```\n\n"
        "| argument | default | meaning |\n|---|---|---|\n"
        "| `EMAIL` |  | who |\n"
        "| `--role {admin,analyst}` | `analyst` | what they see |\n"
        "| `--limit N` |  | at most N |\n\n"
        "## `ebook-analytics runs`\n\nhistory\n\n```\nebook-analytics runs [-h]\n```\n"
    )
