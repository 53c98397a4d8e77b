"""The routing-engine interface: the `Engine` protocol and the `SolveParams` every engine takes.

The registry of engines by name, the verifying ``solve`` and the portfolio live one layer up, in
`sanitation.engines`, so that this package never imports the verifier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sanitation.routing.problem import RoutingProblem
    from sanitation.routing.solution import RoutingSolution


@dataclass(frozen=True)
class SolveParams:
    """Solver settings shared by all engines.

    Parameters
    ----------
    time_limit_s
        Wall-clock limit of the search (seconds).
    max_iterations
        Optional cap on search iterations (engine-specific meaning; None = no cap).
    verify
        Ask `sanitation.engines.solve` to run the independent verifier on the result and raise
        `VerificationError` on violations (the engines themselves never verify).
    options
        Engine-specific settings (e.g. ``{"metaheuristic": "GUIDED_LOCAL_SEARCH"}`` for OR-Tools).
    """

    time_limit_s: float
    max_iterations: int | None = None
    verify: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0:
            msg = "SolveParams: time_limit_s must be > 0."
            raise ValueError(msg)
        if self.max_iterations is not None and self.max_iterations < 1:
            msg = "SolveParams: max_iterations must be >= 1 or None."
            raise ValueError(msg)


@runtime_checkable
class Engine(Protocol):
    """A routing engine: a pure function of (problem, params, seed)."""

    name: str

    def solve(self, problem: RoutingProblem, params: SolveParams, *, seed: int) -> RoutingSolution:
        """Solve ``problem``; stops that cannot be served are listed in ``unserved``."""
        ...
