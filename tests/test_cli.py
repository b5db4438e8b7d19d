"""The command declarations (`pipelines.cli.COMMANDS`) list the commands without importing their modules, and agree
with what the modules define."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import COMMAND_MODULES, COMMANDS, build_parser, main
from pipelines.publish.history import append_run
from tests.conftest import REPO_ROOT, cli_environment, start_cli


def _commands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    (action,) = (action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    return action


def _leaves(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    children = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    if not children:
        return [parser]
    return [leaf for action in children for child in action.choices.values() for leaf in _leaves(child)]


def test_the_top_level_help_lists_every_declared_command_as_the_full_parser_does() -> None:
    lazy = build_parser(lazy=True).format_help()
    assert lazy == build_parser().format_help()
    listing = " ".join(lazy.split())
    for command in COMMANDS:
        assert f" {command.name} {command.help} " in listing


def test_each_declared_function_defines_its_command_and_every_command_is_declared() -> None:
    full = _commands(build_parser())
    assert list(full.choices) == [command.name for command in COMMANDS]
    assert [choice.dest for choice in full._choices_actions] == [command.name for command in COMMANDS]
    for command in COMMANDS:
        parser = full.choices[command.name]
        assert parser.prog == f"ebook-analytics {command.name}"
        assert len(parser._actions) > 1, f"{command.define} adds no arguments or subcommands"
        assert all(callable(leaf.get_default("func")) for leaf in _leaves(parser)), f"{command.define}: no handler"
    # A module's `define_*` function that no declaration names would be a command the CLI never offers.
    defined = {
        f"{module}:{name}"
        for module in COMMAND_MODULES
        for name, _ in inspect.getmembers(importlib.import_module(module), inspect.isfunction)
        if name.startswith("define_")
    }
    assert defined == {command.define for command in COMMANDS}


def test_listing_the_commands_or_choosing_one_imports_only_its_module() -> None:
    """Nor DuckDB, pyarrow or pandas, which `runs` and `--help` do not need (each CLI call would pay them)."""
    script = (
        "import json, sys\n"
        "from pipelines.cli import COMMAND_MODULES, main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('duckdb', 'pyarrow', 'pandas')\n"
        "print(json.dumps([m for m in (*COMMAND_MODULES, *heavy) if m in sys.modules]), file=sys.stderr)\n"
    )

    def imported(*args: str) -> list[str]:
        result = subprocess.run(
            [sys.executable, "-c", script, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
        )
        return list(json.loads(result.stderr.splitlines()[-1]))

    assert imported("--help") == []
    assert imported("bogus") == []
    assert imported("runs", "--help") == ["pipelines.run.commands"]
    assert imported("--debug", "audit", "--help") == ["pipelines.audit.commands"]


def _history_of(env: dict[str, str], runs: int) -> None:
    history = Path(env["EBOOK_ANALYTICS_WAREHOUSE"]).parent / "runs.jsonl"
    for number in range(runs):
        append_run(history, {"run_id": f"run-{number}", "status": "published", "error": "x" * 250})


def _runs_in_a_process_of_its_own(env: dict[str, str], **standard_output: Any) -> subprocess.CompletedProcess[str]:
    """`ebook-analytics runs --json` in a fresh interpreter (the warm CLI's children share its output's set-up)."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "runs", "--json"],
        env=env,
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        **standard_output,
    )


def test_output_whose_reader_stops_reading_ends_without_an_error_as_a_pipes_writer(tmp_path: Path) -> None:
    """`ebook-analytics runs --json --limit 300 | head -1`: no error line; the exit a writer stopped by SIGPIPE has
    (141), which `set -o pipefail` tells from a failure."""
    env = cli_environment(tmp_path, "postgresql://nobody@localhost/unused")  # `runs` reads no source
    _history_of(env, 300)  # ~100 kB of JSON: more than a pipe holds
    process = start_cli("runs", "--json", "--limit", "300", env=env)
    assert process.stdout.readline() == "[\n"
    process.stdout.close()
    assert process.wait(timeout=60) == 141
    assert process.stderr.read() == ""


def test_buffered_output_whose_reader_has_gone_ends_the_same(tmp_path: Path) -> None:
    """A terminal user's process buffers its output: a short one first meets the closed pipe when it is flushed,
    after the command returned (Python's own flush at the exit would print "Exception ignored" and exit 120)."""
    env = cli_environment(tmp_path, "postgresql://nobody@localhost/unused")
    _history_of(env, 1)
    env = {name: value for name, value in env.items() if name != "PYTHONUNBUFFERED"}
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first byte
    try:
        result = _runs_in_a_process_of_its_own(env, stdout=write_end)
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (141, "")


def test_a_command_run_without_standard_output_ends_as_it_would(tmp_path: Path) -> None:
    """A cron line ending in `>&-`: Python starts without `sys.stdout`, and what the command prints goes nowhere."""
    env = cli_environment(tmp_path, "postgresql://nobody@localhost/unused")
    _history_of(env, 1)
    # (the child's own descriptor, closed before it runs anything)
    result = _runs_in_a_process_of_its_own(env, preexec_fn=lambda: os.close(1))
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("argv", "refused"),
    [
        (["runs", "--limit", "0"], "argument --limit: '0' is not a whole number of 1 or more"),
        (["alerts", "history", "--limit", "-1"], "argument --limit: '-1' is not a whole number of 1 or more"),
        (["audit", "--limit", "-1"], "argument --limit: '-1' is not a whole number of 0 or more"),
        (["audit", "--limit", "ten"], "argument --limit: 'ten' is not a whole number of 0 or more"),
        (["source", "advance", "--days", "0"], "argument --days: '0' is not a whole number of 1 or more"),
        (
            ["source", "partitions", "--months-ahead", "-1"],
            "argument --months-ahead: '-1' is not a whole number of 0 or more",
        ),
        (["etl", "run", "--max-runs", "0"], "argument --max-runs: '0' is not a whole number of 1 or more"),
        (["source", "advance", "--dayz", "3"], "unrecognized arguments: --dayz 3"),
        (
            ["source", "seed", "--end-date", "2026-02-30"],
            "argument --end-date: '2026-02-30' is not a date; write YYYY-MM-DD",
        ),
        (["report", "--start", "2026-13-01"], "argument --start: '2026-13-01' is not a date; write YYYY-MM-DD"),
        (
            ["metrics", "query", "cost", "--start", "03/01/2024"],
            "argument --start: '03/01/2024' is not a date; write YYYY-MM-DD",
        ),
    ],
)
def test_a_count_or_a_day_is_refused_in_the_same_words_by_every_command(
    argv: list[str], refused: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    command = " ".join(word for word in argv[:2] if not word.startswith("-"))
    assert exited.value.code == 2
    assert capsys.readouterr().err == f"error: {refused}; see `ebook-analytics {command} --help`\n"  # one line
