"""The routing-engine registry: engines by name, imported lazily, and the verifying `solve`.

Every engine is a class with a ``name`` and ``solve(problem, params, *, seed)`` (the
`sanitation.routing.engine.Engine` protocol); its module is only imported when the engine is
asked for, so a missing optional solver does not break the others. This layer sits above both
`sanitation.routing` (problem, solution, engines) and `sanitation.verify` (the independent
checker), which never import each other's callers.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
from collections.abc import Mapping
from typing import cast

from sanitation.routing.engine import Engine, SolveParams
from sanitation.routing.problem import RoutingProblem
from sanitation.routing.solution import RoutingSolution
from sanitation.verify.routing import check

DEFAULT_ENGINE = "portfolio"

#: engine name -> (module, class); `get_engine` constructs the class with its options.
ENGINES: Mapping[str, tuple[str, str]] = {
    "pyvrp": ("sanitation.routing.pyvrp_engine", "PyVRPEngine"),
    "ortools": ("sanitation.routing.ortools_engine", "OrToolsEngine"),
    "portfolio": ("sanitation.engines.portfolio", "PortfolioEngine"),
    "pyvrp2": ("sanitation.engines.pyvrp_pair", "PyVRPPairEngine"),
    "pyvrp2-independent": ("sanitation.engines.pyvrp_pair", "PyVRPIndependentPairEngine"),
}
#: engines that run in worker processes and take an ``executor`` option
POOLED = frozenset({"portfolio", "pyvrp2", "pyvrp2-independent"})


def get_engine(name: str, **options: object) -> Engine:
    """The engine registered under ``name`` (a key of `ENGINES`), constructed with
    ``options`` (none for the defaults).

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
    return cast(Engine, getattr(module, class_name)(**options))


def solve(
    problem: RoutingProblem,
    params: SolveParams,
    *,
    seed: int = 1,
    engine: str = DEFAULT_ENGINE,
    executor: cf.Executor | None = None,
) -> RoutingSolution:
    """Solve with the named engine; verify the result when ``params.verify``.

    ``executor``: where a pooled engine (`POOLED`: the portfolio, ``pyvrp2``) runs its workers:
    a warm pool shared by many solves, so they do not each start (and import into) a new pool;
    None = a new pool per solve. Any other engine runs in this process either way.

    Raises
    ------
    VerificationError
        If the verifier rejects the engine's solution.
    """
    warm = engine in POOLED and executor is not None
    solver = get_engine(engine, executor=executor) if warm else get_engine(engine)
    solution = solver.solve(problem, params, seed=seed)
    if params.verify:
        check(problem, solution)
    return solution
