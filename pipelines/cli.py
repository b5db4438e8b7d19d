"""`ebook-analytics`: the one command. Each step's module registers its own subcommands here."""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from pipelines.config import SETTINGS_HELP
from pipelines.errors import UserError, unexpected

# Each module defines `register(subparsers)`; its handlers take the parsed args and return an exit code.
COMMAND_MODULES = (
    "pipelines.source.commands",  # source init|start|stop|status|url|seed|advance|partitions|grant
    "pipelines.run.commands",  # etl run, runs
    "pipelines.quality.commands",  # check
    "pipelines.export.commands",  # export statements (alias revenue-share)
    "pipelines.audit.commands",  # audit
    "pipelines.close.commands",  # close-month
    "pipelines.metrics.commands",  # metrics list|query
    "pipelines.sql_command",  # sql
    "pipelines.alerts.commands",  # alerts list|test|history
    "dashboards.commands",  # dashboard, demo
    "dashboards.auth.commands",  # users add|list|remove|set-role
    "dashboards.report",  # report (a page's report pack)
    "pipelines.schedules.commands",  # schedules list|run (scheduled delivery)
    "pipelines.bench.commands",  # bench
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ebook-analytics",
        description="Analytics for the AI ebook platform: source, ETL, checks, dashboards and exports.",
        epilog=SETTINGS_HELP,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    argv = [arg for arg in argv if arg != "--debug"]  # accepted anywhere on the line
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except UserError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line unless --debug
        if debug:
            traceback.print_exc()
        else:
            print(f"error: {unexpected(exc)} (rerun with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
