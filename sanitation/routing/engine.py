"""The routing-engine interface: the `Engine` protocol and the `SolveParams` every engine takes.

The registry of engines by name, the verifying ``solve`` and the portfolio live one layer up, in
`sanitation.engines`, so that this package never imports the verifier.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
        Wall-clock limit of the search (seconds); with ``work_s`` a hard cap only.
    max_iterations
        Optional cap on search iterations (engine-specific meaning; None = no cap).
    work_s
        Deterministic work budget (reference seconds; None = stop on the clock only). Each
        engine turns it into an iteration count for the problem's size with its own measured
        rate (`work_iterations`), so a solve does the same work, and with the same seed returns
        the same plan, on any machine unless ``time_limit_s`` stops it first (the engine's
        ``stats["stopped_by"]`` then says ``"time_limit"``).
    initial_solution
        A solution to start the search from (e.g. a baseline's routes for a what-if). It need not
        fit the problem: visits of stops the problem lacks, and routes of vehicles it lacks, are
        left out; the engines repair the rest.
    verify
        Ask `sanitation.engines.solve` to run the independent verifier on the result and raise
        `VerificationError` on violations (the engines themselves never verify).
    options
        Engine-specific settings (e.g. ``{"metaheuristic": "GUIDED_LOCAL_SEARCH"}`` for OR-Tools).
    """

    time_limit_s: float
    max_iterations: int | None = None
    work_s: float | None = None
    initial_solution: RoutingSolution | None = None
    verify: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0:
            msg = "SolveParams: time_limit_s must be > 0."
            raise ValueError(msg)
        if self.max_iterations is not None and self.max_iterations < 1:
            msg = "SolveParams: max_iterations must be >= 1 or None."
            raise ValueError(msg)
        if self.work_s is not None and not 0 < self.work_s <= MAX_WORK_S:
            msg = f"SolveParams: work_s must be in (0, {MAX_WORK_S:g}] or None."
            raise ValueError(msg)


#: ``stats["stopped_by"]`` of a solve: it did its whole work budget (deterministic), or the
#: wall clock (or no work budget) stopped it
STOPPED_BY_WORK = "work_budget"
STOPPED_BY_TIME = "time_limit"
#: the largest work budget accepted (reference seconds: a day's worth of search)
MAX_WORK_S = 86_400.0
#: share of an engine's speed measured alone on an idle core that a work budget assumes: the
#: portfolio runs two engines at once, other work shares the machine and start-up and model
#: building take their part, so that the work still ends before the time limit (assumed; with
#: 0.5 a 4 s plan of a 30-point county on the loaded 2-core machine hit the limit)
WORK_SPEED_SHARE = 0.25


def work_iterations(rates: Sequence[tuple[int, float]], n_stops: int, work_s: float) -> int:
    """Iterations making up ``work_s`` reference seconds on a problem of ``n_stops`` stops.

    Parameters
    ----------
    rates
        An engine's measured iterations per second by problem size, ``(n_stops, rate)`` in
        increasing size; interpolated log-linearly in between, held constant beyond the ends.
    n_stops
        Stops of the problem (at least 1 is assumed).
    work_s
        The work budget (reference seconds).

    Returns
    -------
    int
        ``WORK_SPEED_SHARE`` x rate x ``work_s``, at least 1.
    """
    n = max(1, n_stops)
    sizes = [math.log(s) for s, _ in rates]
    speeds = [math.log(r) for _, r in rates]
    x = min(max(math.log(n), sizes[0]), sizes[-1])
    for k in range(len(sizes) - 1):
        if x <= sizes[k + 1]:
            t = (x - sizes[k]) / (sizes[k + 1] - sizes[k])
            speed = math.exp(speeds[k] + t * (speeds[k + 1] - speeds[k]))
            break
    else:
        speed = math.exp(speeds[-1])
    return max(1, round(WORK_SPEED_SHARE * speed * work_s))


@runtime_checkable
class Engine(Protocol):
    """A routing engine: a pure function of (problem, params, seed)."""

    name: str

    def solve(self, problem: RoutingProblem, params: SolveParams, *, seed: int) -> RoutingSolution:
        """Solve ``problem``; stops that cannot be served are listed in ``unserved``."""
        ...
