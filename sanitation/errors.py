"""The project's exceptions and the one place they map to exit codes.

``ScenarioError`` and `geo.errors.GeoInputError` mean bad input (exit 2); ``InfeasibleError``
means the input is well formed but no plan satisfies it (exit 3); anything else is internal
(exit 1). The API maps the same classes to HTTP statuses in its own single place.
"""

from geo.errors import GeoInputError


class ScenarioError(ValueError):
    """Bad scenario or data file. ``problems`` lists every problem found, one line each."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else [message]


class InfeasibleError(RuntimeError):
    """No solution satisfies the constraints; the message names the binding constraint."""

    def __init__(self, message: str, causes: list[str] | None = None) -> None:
        super().__init__(message)
        self.causes = causes if causes is not None else [message]


class VerificationError(RuntimeError):
    """A solver returned a plan that the independent verifier rejects (an internal error)."""

    def __init__(self, message: str, violations: list[str] | None = None) -> None:
        super().__init__(message)
        self.violations = violations if violations is not None else [message]


EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3


def exit_code_for(error: BaseException) -> int:
    """Exit code of the command-line contract for an exception."""
    if isinstance(error, ScenarioError | GeoInputError):
        return EXIT_BAD_INPUT
    if isinstance(error, InfeasibleError):
        return EXIT_INFEASIBLE
    return EXIT_INTERNAL
