"""The one exception type users see: a message that says what is wrong and what to do."""


class UserError(Exception):
    """A problem the user can fix. The CLI prints it as one line and exits non-zero, without a traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def first_line(error: BaseException | str) -> str:
    """The first line of an error message (drivers' messages run over many lines); an exception without a message
    gives its type's name."""
    text = str(error).strip()
    if text:
        return text.splitlines()[0]
    return type(error).__name__ if isinstance(error, BaseException) else ""


def unexpected(exc: BaseException) -> str:
    """An error we did not foresee, in one line: its type, then the first line of its message."""
    name = type(exc).__name__
    line = first_line(exc)
    return name if line == name else f"{name}: {line}"
