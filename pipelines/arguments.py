"""Types of the commands' arguments shared by several commands: a value is refused in the same words wherever it is
asked for (argparse prints `argument --NAME: <the words>`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date


def day(text: str) -> date:
    """A calendar day written YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD") from exc


def whole_number(minimum: int) -> Callable[[str], int]:
    """A whole number of at least `minimum` (a count, a limit)."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = minimum - 1
        if number < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of {minimum} or more")
        return number

    return parse
