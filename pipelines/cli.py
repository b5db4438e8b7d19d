"""`ebook-analytics`: the one command. `COMMANDS` declares each command; its module defines its arguments.

A command's module is imported only when that command runs (or the docs are generated): listing the commands needs
only their names and help, and importing every module (DuckDB, pandas, the dashboards' modules, ...) would cost
each call about a second whatever it runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import select
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from pipelines.config import SETTINGS_HELP
from pipelines.errors import UserError, unexpected


@dataclass(frozen=True)
class Command:
    """A top-level command: what `ebook-analytics --help` lists, and where the rest of it is defined."""

    name: str
    help: str
    define: str  # "module:function": given the command's parser, adds its arguments, subcommands and handlers

    @property
    def module(self) -> str:
        return self.define.partition(":")[0]

    def definer(self) -> Callable[[argparse.ArgumentParser], None]:
        module, _, function = self.define.partition(":")
        definer: Callable[[argparse.ArgumentParser], None] = getattr(importlib.import_module(module), function)
        return definer


# In the order `--help` lists them. The handlers a definer sets take the parsed args and return an exit code.
COMMANDS = (
    Command("source", "the operational PostgreSQL database", "pipelines.source.commands:define_source"),
    Command("etl", "extract, transform, check, publish and write back", "pipelines.run.commands:define_etl"),
    Command("runs", "the ETL run history, newest first", "pipelines.run.commands:define_runs"),
    Command(
        "check", "run the data-quality checks on the published warehouse", "pipelines.quality.commands:define_check"
    ),
    Command("export", "finance exports from the published warehouse", "pipelines.export.commands:define_export"),
    Command(
        "audit",
        "who took which export, statement pack or download, and when (the audit log, newest first)",
        "pipelines.audit.commands:define_audit",
    ),
    Command(
        "close-month",
        "freeze a month's revenue-share statements (later amount changes show as restatements); --list closes",
        "pipelines.close.commands:define_close_month",
    ),
    Command("metrics", "list the defined metrics or compute them", "pipelines.metrics.commands:define_metrics"),
    Command(
        "sql",
        "read-only SQL on the latest publication (schemas marts, staging, meta)",
        "pipelines.sql_command:define_sql",
    ),
    Command(
        "alerts",
        "alert rules, a dry run of one, and the alerts fired so far",
        "pipelines.alerts.commands:define_alerts",
    ),
    Command("dashboard", "serve the dashboards on the published warehouse", "dashboards.commands:define_dashboard"),
    Command(
        "demo",
        "one command: start the source, seed it, run the ETL, create a demo admin, serve the dashboards",
        "dashboards.commands:define_demo",
    ),
    Command("users", "local dashboard accounts and their roles", "dashboards.auth.commands:define_users"),
    Command(
        "report",
        "a page's report pack (XLSX or PDF: a cover, one sheet or section per chart and table) for a role",
        "dashboards.report:define_report",
    ),
    Command(
        "schedules",
        "scheduled delivery of report and statement packs by email and to folders",
        "pipelines.schedules.commands:define_schedules",
    ),
    Command(
        "bench",
        "measure the ETL and dashboards on a seeded scale (own data folder, never your demo data)",
        "pipelines.bench.commands:define_bench",
    ),
)

COMMAND_MODULES = tuple(dict.fromkeys(command.module for command in COMMANDS))


if TYPE_CHECKING:
    _SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:  # generic only in typeshed
    _SubParsers = argparse._SubParsersAction


class _Commands(_SubParsers):
    """The top-level subcommands, each defined (its module imported) only once argparse has chosen it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._undefined: dict[str, Command] = {}

    def declare(self, command: Command) -> None:
        self.add_parser(command.name, help=command.help)
        self._undefined[command.name] = command

    def define(self, name: str) -> None:
        command = self._undefined.pop(name, None)
        if command is not None:
            command.definer()(self._name_parser_map[name])

    def define_all(self) -> None:
        for name in list(self._undefined):
            self.define(name)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        assert isinstance(values, list)  # nargs=PARSER: the command's name, then its arguments
        self.define(values[0])  # an unknown name fails argparse's check of the choices before this call
        super().__call__(parser, namespace, values, option_string)


class _Parser(argparse.ArgumentParser):
    """A usage error is one line that names the help to read (argparse would print the usage block before it); the
    commands' parsers are of this class too (argparse gives subparsers their parent's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}; see `{self.prog} --help`\n")


def build_parser(*, lazy: bool = False) -> argparse.ArgumentParser:
    """The CLI's parser; `lazy`: a command is defined only when the parsed arguments choose it (`main`), else all
    commands are defined now (the docs, the tests)."""
    parser = _Parser(
        prog="ebook-analytics",
        description="Analytics for the AI ebook platform: source, ETL, checks, dashboards and exports.",
        epilog=SETTINGS_HELP,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, action=_Commands)
    assert isinstance(commands, _Commands)
    for command in COMMANDS:
        commands.declare(command)
    if not lazy:
        commands.define_all()
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    argv = [arg for arg in argv if arg != "--debug"]  # accepted anywhere on the line
    code = 0
    try:
        code = _command(argv, debug)
        if sys.stdout is not None:  # (closed by the caller: `>&-`)
            sys.stdout.flush()  # here, not at the exit: a reader gone (`| head`) is met below
    except BrokenPipeError as exc:
        if not _reader_gone():
            return _unexpected(exc, debug)
        # The output's reader went away (`| head`): it read what it wanted. The rest goes nowhere (Python would meet
        # the closed pipe again flushing at exit), and the exit is a pipe writer's, as `set -o pipefail` knows it,
        # unless the command had failed already.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return code or 128 + signal.SIGPIPE
    return code


def _command(argv: list[str], debug: bool) -> int:
    """Run the command `argv` names; its exit code, an error said in one line (a closed output pipe is `main`'s)."""
    try:
        args = _parsed(argv)
        return int(args.func(args) or 0)
    except UserError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line unless --debug
        return _unexpected(exc, debug)


def _parsed(argv: list[str]) -> argparse.Namespace:
    """The arguments; an option no parser took is refused by the parser of the command `argv` names, so the error
    points to that command's help (argparse's own check is the top parser's)."""
    parser = build_parser(lazy=True)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _named_parser(parser, argv).error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def _named_parser(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.ArgumentParser:
    """The parser of the (sub)command the words of `argv` name, e.g. `source advance`'s."""
    for word in argv:
        commands = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
        if not commands or word not in commands[0].choices:
            if commands and not word.startswith("-"):
                break  # not a command of this parser: the rest names no deeper one
            continue
        parser = commands[0].choices[word]
    return parser


def _unexpected(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    else:
        print(f"error: {unexpected(exc)} (rerun with --debug for details)", file=sys.stderr)
    return 1


def _reader_gone() -> bool:
    """Whether the reader of the standard output closed it: the writer's end of such a pipe polls as an error."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
    except (AttributeError, OSError, ValueError):  # no standard output, or not a file
        return False
    return any(event & select.POLLERR for _, event in poller.poll(0))


if __name__ == "__main__":
    sys.exit(main())
