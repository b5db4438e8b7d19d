"""Renders `docs/cli.md`, the command reference, from the CLI's own argument parser, so it cannot drift from it.

Regenerate after changing a command: `python -m pipelines.cli_docs` (tests/test_cli_docs.py fails until you do).
Every command any module registers is included, in the order `ebook-analytics --help` lists them.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from pipelines.cli import build_parser

# A development tool: it writes into the checkout this module was imported from.
DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "cli.md"

HEADER = """\
# Command reference

Generated from the argument parser by `python -m pipelines.cli_docs`; do not edit by hand.
"""


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help, parser) of each subcommand of `parser`, in registration order."""
    found = []
    for action in parser._actions:  # argparse keeps its subcommands only here
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            found += [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return found


def _commands(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = (), summary: str = ""
) -> Iterator[tuple[tuple[str, ...], str, argparse.ArgumentParser]]:
    """Every command that runs something (a parser without subcommands), depth first."""
    children = _subcommands(parser)
    if not children and words:
        yield words, summary, parser
    for name, help_text, child in children:
        yield from _commands(child, (*words, name), help_text)


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=10_000)  # one line, whatever the terminal
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups, prefix="")
    return formatter.format_help().strip()


def _anchor(words: tuple[str, ...]) -> str:
    """GitHub's anchor of the heading `ebook-analytics WORDS`."""
    return "-".join(("ebook-analytics", *words))


def _cell(text: str) -> str:
    """One line of Markdown text: no line breaks, no table pipes, and `<home>` shown rather than taken for HTML."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _option_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        value = action.metavar or action.dest.upper()
        if action.choices is not None:
            value = "{" + ",".join(str(choice) for choice in action.choices) + "}"
        if not action.option_strings:  # a positional argument: its value is all there is
            name = value
        else:
            name = ", ".join(action.option_strings) + (f" {value}" if action.nargs != 0 else "")
        default = action.default
        shown = "" if default in (None, False, argparse.SUPPRESS) or action.nargs == 0 else f"`{default}`"
        rows.append(f"| `{name}` | {shown} | {_cell(action.help or '')} |")
    return rows


def render_command(words: tuple[str, ...], summary: str, parser: argparse.ArgumentParser) -> str:
    lines = [f"## `ebook-analytics {' '.join(words)}`", ""]
    texts = [summary] + ([parser.description] if parser.description and parser.description != summary else [])
    lines += [line for text in texts if text for line in (_cell(text), "")]
    lines += ["```", _usage(parser), "```", ""]
    rows = _option_rows(parser)
    if rows:
        lines += ["| argument | default | meaning |", "|---|---|---|", *rows, ""]
    return "\n".join(lines)


def render(parser: argparse.ArgumentParser) -> str:
    commands = list(_commands(parser))
    index = ["| command | what it does |", "|---|---|"]
    index += [f"| [`{' '.join(words)}`](#{_anchor(words)}) | {_cell(summary)} |" for words, summary, _ in commands]
    top = [_cell(parser.description or ""), "", "```", _usage(parser), "```", ""]
    top += ["| argument | default | meaning |", "|---|---|---|", *_option_rows(parser), ""]
    if parser.epilog:
        top += [parser.epilog.strip(), ""]
    sections = [render_command(*command) for command in commands]
    return "\n".join([HEADER, *top, *index, "", *sections]).rstrip("\n") + "\n"


def main() -> None:
    DOC_PATH.write_text(render(build_parser()))
    print(f"wrote {DOC_PATH}")


if __name__ == "__main__":
    main()
