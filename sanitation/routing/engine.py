"""The routing-engine interface and a registry that imports engines lazily by name.

Every engine is a class with a ``name`` and ``solve(problem, params, *, seed)``; its module is only
imported when the engine is asked for, so a missing optional solver does not break the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sanitation.routing.problem import RoutingProblem
    from sanitation.routing.solution import RoutingSolution

DEFAULT_ENGINE = "portfolio"

#: engine name -> (module, class); the class is instantiated without arguments.
ENGINES: Mapping[str, tuple[str, str]] = {
    "pyvrp": ("sanitation.routing.pyvrp_engine", "PyVRPEngine"),
    "ortools": ("sanitation.routing.ortools_engine", "OrToolsEngine"),
    "portfolio": ("sanitation.routing.portfolio", "PortfolioEngine"),
}


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
        Run the independent verifier on the result and raise `VerificationError` on violations.
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


def get_engine(name: str) -> Engine:
    """The engine registered under ``name`` ("pyvrp", "ortools", "portfolio").

    Raises
    ------
    ValueError
        For an unknown name.
    """
    if name not in ENGINES:
        msg = f"unknown routing engine {name!r}; expected one of {sorted(ENGINES)}"
        raise ValueError(msg)
    module_name, class_name = ENGINES[name]
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()


def solve(
    problem: RoutingProblem,
    params: SolveParams,
    *,
    seed: int = 1,
    engine: str = DEFAULT_ENGINE,
) -> RoutingSolution:
    """Solve with the named engine; verify the result when ``params.verify``.

    Raises
    ------
    VerificationError
        If the verifier rejects the engine's solution.
    """
    solution = get_engine(engine).solve(problem, params, seed=seed)
    if params.verify:
        from sanitation.verify.routing import check

        check(problem, solution)
    return solution
