"""Exceptions raised by `geo` for bad input (mapped to exit code 2 by the CLI)."""


class GeoInputError(ValueError):
    """Bad geographic input: the message names the file, record, field, value and expectation.

    ``problems`` holds every problem found when a validator collected several.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else [message]
