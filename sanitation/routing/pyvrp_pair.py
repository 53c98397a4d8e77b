"""Two PyVRP searches that share their best solutions: the search side of the ``pyvrp2`` engine.

Each search is `sanitation.routing.pyvrp_engine.PyVRPEngine` (the same model, phases, re-timing)
in a worker process of its own, with its own seed. Its PyVRP searches are run by `Exchange`
instead of ``pyvrp.solve``: PyVRP's `IteratedLocalSearch`, built from PyVRP's public classes as
``pyvrp.solve`` builds it, whose local search is wrapped (`_ExchangingSearch`) so that at every
epoch boundary the search sends its best feasible solution to its peer and reads the peer's. A
peer's solution that is cheaper than its own best becomes that iteration's candidate in place
of a local-search result, so the search's own loop takes it as its new best and current
solution (and runs its exhaustive search on it); the search keeps its random stream, penalty
manager and acceptance history throughout.

Epochs: with a work budget (``SolveParams.work_s``) a boundary comes every ``epoch_iterations``
iterations of a search (counted over its phases), so a seeded solve exchanges the same
solutions at the same points and returns the same plan; otherwise every ``epoch_s`` seconds of
the shared monotonic clock from the solve's start. A boundary is a rendezvous: each search
sends, then waits for the peer's message of the same epoch (`PEER_WAIT_S` at most). A peer that
ended (it sends "done"), did not answer in time or whose queue is gone ends the exchange for
this search, which goes on alone; such a timeout is counted in the statistics (the result then
depends on timing).

Solutions travel as routes of activity names (``"C3"``, ``"D1"``) and vehicle-type indices and
are rebuilt on the receiving search's data; one that does not fit it (another phase's model) or
is infeasible there is not taken.
"""

from __future__ import annotations

import logging
import os
import queue
import time
from dataclasses import dataclass, replace
from typing import Any

import pyvrp
from pyvrp import CostEvaluator, ProblemData
from pyvrp import SolveParams as PSolveParams
from pyvrp._pyvrp import Activity, RandomNumberGenerator
from pyvrp.IteratedLocalSearch import IteratedLocalSearch
from pyvrp.PenaltyManager import PenaltyManager
from pyvrp.Result import Result
from pyvrp.search import LocalSearch, PerturbationManager, compute_neighbours
from pyvrp.stop import StoppingCriterion

from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import RoutingProblem
from sanitation.routing.pyvrp_engine import PyVRPEngine
from sanitation.routing.solution import RoutingSolution

logger = logging.getLogger(__name__)

#: seconds between exchanges (wall clock, or reference seconds of work with a work budget);
#: assumed, not measured: long against one iteration (under 0.1 s on 1,000 stops), short
#: against a 60 s solve
EPOCH_S = 5.0
#: seconds a search waits at a boundary for its peer's message before going on alone (assumed)
PEER_WAIT_S = 10.0

#: a route on the wire: (vehicle-type index, activity names between the start and the end)
WireRoute = tuple[int, tuple[str, ...]]
#: the message that a search has ended
DONE = "done"


@dataclass(frozen=True)
class Link:
    """One search's end of the exchange (picklable: queue proxies and numbers).

    Parameters
    ----------
    inbox, outbox
        Queues (e.g. ``multiprocessing.Manager().Queue()``) from and to the peer; None: no
        exchange (the search runs alone).
    start
        ``time.monotonic()`` at the solve's start (the clock of the epochs without a work
        budget; monotonic time is shared by the processes of one machine).
    epoch_s
        Seconds between boundaries without a work budget.
    epoch_iterations
        Iterations between boundaries (None: the clock decides).
    last_s
        Without a work budget, no boundary later than this many seconds after ``start`` (so
        that neither search waits for a peer that is already converting its routes).
    wait_s
        Seconds to wait for the peer's message at a boundary.
    """

    inbox: Any
    outbox: Any
    start: float
    epoch_s: float = EPOCH_S
    epoch_iterations: int | None = None
    last_s: float = float("inf")
    wait_s: float = PEER_WAIT_S


class Exchange:
    """Runs a PyVRP search like ``pyvrp.solve`` that swaps best solutions with a peer's at the
    epoch boundaries (a `sanitation.routing.pyvrp_engine.SearchRunner`)."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.iterations = 0
        self.epochs = 0
        self.sent = 0
        self.adoptions = 0
        self.timeouts = 0
        self.open = link.inbox is not None

    def __call__(
        self,
        data: ProblemData,
        stop: StoppingCriterion,
        *,
        seed: int,
        params: PSolveParams,
        initial_solution: pyvrp.Solution | None,
    ) -> Result:
        """``pyvrp.solve(data, stop, seed, params, initial_solution)`` with the exchange."""
        rng = RandomNumberGenerator(seed=seed)
        neighbours = compute_neighbours(data, params.neighbourhood)
        ls = LocalSearch(data, rng, neighbours, PerturbationManager(params.perturbation))
        for op in params.operators:
            if op.supports(data):
                ls.add_operator(op(data))
        pm = PenaltyManager(params.penalty.midpoint_penalties(data), params.penalty)
        init = initial_solution
        if init is None:
            init = ls(
                pyvrp.Solution.make_random(data, rng), pm.max_cost_evaluator(), exhaustive=True
            )
        search = _ExchangingSearch(ls, self, data)
        ils = IteratedLocalSearch(data, pm, search, init, params.ils)
        return ils.run(stop, collect_stats=False, display=False)

    def due(self) -> bool:
        """Whether this iteration is an epoch boundary (counts the iteration)."""
        self.iterations += 1
        if not self.open:
            return False
        if self.link.epoch_iterations is not None:
            return self.iterations % self.link.epoch_iterations == 0
        boundary_s = (self.epochs + 1) * self.link.epoch_s
        if boundary_s > self.link.last_s:
            return False
        return time.monotonic() >= self.link.start + boundary_s

    def swap(self, best: pyvrp.Solution | None) -> list[WireRoute] | None:
        """Send ``best`` (None: nothing feasible yet) to the peer; the peer's best of the same
        epoch, or None (nothing feasible, the peer ended or did not answer in time, or the
        queues are gone: the search goes on alone)."""
        self.epochs += 1
        try:
            self.link.outbox.put(None if best is None else _wire(best))
            self.sent += 1
            message: list[WireRoute] | str | None = self.link.inbox.get(timeout=self.link.wait_s)
        except (queue.Empty, OSError, EOFError) as error:
            self.timeouts += 1
            logger.warning("pyvrp2: no answer from the peer at epoch %d: %r", self.epochs, error)
            self.open = False
            return None
        if isinstance(message, str):  # DONE
            self.open = False
            return None
        return message

    def close(self) -> None:
        """Tell the peer that this search has ended (if the queues are still there)."""
        if self.link.outbox is not None:
            try:
                self.link.outbox.put(DONE)
            except (OSError, EOFError) as error:
                logger.info("pyvrp2: could not tell the peer that this search ended: %r", error)

    def stats(self) -> dict[str, int]:
        """Iterations, epochs, solutions sent, adoptions (peer's solution taken), timeouts."""
        return {
            "iterations": self.iterations,
            "epochs": self.epochs,
            "sent": self.sent,
            "adoptions": self.adoptions,
            "timeouts": self.timeouts,
        }


class _ExchangingSearch:
    """PyVRP's local search for `IteratedLocalSearch`, which at an epoch boundary returns the
    peer's best instead when it is cheaper than the best this search has returned."""

    def __init__(self, ls: LocalSearch, exchange: Exchange, data: ProblemData) -> None:
        self.ls = ls
        self.exchange = exchange
        self.data = data
        self.best: pyvrp.Solution | None = None

    def __call__(
        self, solution: pyvrp.Solution, cost_evaluator: CostEvaluator, exhaustive: bool = False
    ) -> pyvrp.Solution:
        """Improve ``solution`` (or hand over the peer's cheaper best at a boundary)."""
        self._note(solution, cost_evaluator)
        if not exhaustive and self.exchange.due():
            offered = self._rebuild(self.exchange.swap(self.best))
            if (
                offered is not None
                and offered.is_feasible()
                and (
                    self.best is None
                    or cost_evaluator.cost(offered) < cost_evaluator.cost(self.best)
                )
            ):
                self.exchange.adoptions += 1
                self.best = offered
                return offered
        out = self.ls(solution, cost_evaluator, exhaustive=exhaustive)
        self._note(out, cost_evaluator)
        return out

    def _note(self, sol: pyvrp.Solution, cost_evaluator: CostEvaluator) -> None:
        if sol.is_feasible() and (
            self.best is None or cost_evaluator.cost(sol) < cost_evaluator.cost(self.best)
        ):
            self.best = sol

    def _rebuild(self, routes: list[WireRoute] | None) -> pyvrp.Solution | None:
        """The peer's routes as a solution of this search's data (None if they do not fit)."""
        if routes is None:
            return None
        try:
            return pyvrp.Solution(
                self.data,
                [
                    pyvrp.Route(self.data, [Activity(a) for a in visits], vt)
                    for vt, visits in routes
                ],
            )
        except (IndexError, ValueError, RuntimeError) as error:
            logger.info("pyvrp2: the peer's solution does not fit this phase: %s", error)
            return None


def _wire(sol: pyvrp.Solution) -> list[WireRoute]:
    return [
        (r.vehicle_type(), tuple(str(a) for a in list(r.schedule())[1:-1])) for r in sol.routes()
    ]


def search_in_worker(
    problem: RoutingProblem, params: SolveParams, seed: int, link: Link
) -> RoutingSolution:
    """Worker entry point: `PyVRPEngine` with seed ``seed`` exchanging over ``link``, ending
    ``params.time_limit_s`` after ``link.start`` (the time the worker took to start is taken
    off its limit); its ``stats`` add ``seed``, ``pid``, ``start_s`` (that start-up time) and
    the exchange's counts (`Exchange.stats`)."""
    start_s = time.monotonic() - link.start
    params = replace(params, time_limit_s=max(0.1, params.time_limit_s - start_s))
    exchange = Exchange(link)
    try:
        sol = PyVRPEngine(runner=exchange).solve(problem, params, seed=seed)
    finally:
        exchange.close()
    stats = {
        **sol.stats,
        "seed": seed,
        "pid": os.getpid(),
        "start_s": round(start_s, 3),
        **exchange.stats(),
    }
    return replace(sol, stats=stats)
