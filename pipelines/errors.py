"""The one exception type users see: a message that says what is wrong and what to do."""


class UserError(Exception):
    """A problem the user can fix. The CLI prints it as one line and exits non-zero, without a traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
