"""The project's exceptions and the one place they map to exit codes.

``ScenarioError`` and `geo.errors.GeoInputError` mean bad input (exit 2); ``InfeasibleError``
means the input is well formed but no plan satisfies it (exit 3); anything else is internal
(exit 1), ``VerificationError`` (a solver's plan the verifier rejects) included. The API maps
the same classes to HTTP statuses in its own single place.
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


class ClusterError(RuntimeError):
    """The Dask cluster lost a solve: its workers died more often than the scheduler allows, or
    the scheduler went away (an internal error: exit 1 with this message, nothing written)."""


class VerificationError(RuntimeError):
    """A solver returned a plan that the independent verifier rejects (an internal error).

    ``violations`` lists every violation, one line each; ``stage`` names the chain's stage whose
    plan was rejected (``routing``, ``transfer``); ``context`` says where, outermost first
    (scenario, station, day), as the callers add it on the way up (`add_context`). The fields
    survive pickling (a station-day's error comes back from a worker process).
    """

    def __init__(
        self,
        message: str,
        violations: list[str] | None = None,
        *,
        stage: str | None = None,
        context: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.violations = violations if violations is not None else [message]
        self.stage = stage
        self.context = context

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self.args[0]), self.violations), self.__dict__)

    def add_context(self, where: str, *, stage: str | None = None) -> None:
        """Say where the rejected plan was made (an outer caller's ``where`` goes first); set the
        stage if the verifier did not."""
        self.context = (where, *self.context)
        if self.stage is None:
            self.stage = stage

    def summary(self, *, shown: int = 3) -> list[str]:
        """A headline (stage, where, how many violations), then the first ``shown`` violations
        and how many more there are."""
        stage = f"the {self.stage} stage's" if self.stage else "a"
        where = f" ({'; '.join(self.context)})" if self.context else ""
        lines = [
            f"{stage} plan failed the independent verifier{where}: "
            f"{len(self.violations)} violation(s)"
        ]
        lines.extend(f"  - {line}" for line in self.violations[:shown])
        if len(self.violations) > shown:
            lines.append(f"  - ... and {len(self.violations) - shown} more")
        return lines


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
    return EXIT_INTERNAL  # VerificationError and anything unexpected
