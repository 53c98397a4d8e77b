"""Work budgets of the assignment engines: deterministic limits derived from seconds.

A budget is ``work_s`` reference seconds (about the wall-clock seconds the work takes on an
idle core of the project's 2-core machine) and a wall-clock deadline, the hard cap. Each engine
and heuristic turns ``work_s`` into its own deterministic limit with a rate measured there
(``docs/assignment.md``): CP-SAT deterministic time, SCIP branch-and-bound nodes by model size,
Lagrangian iterations and local-search work by matrix size. A run that the deadline stops
first says so (``stopped_by_time``): its result then depends on the machine's speed and load.
``work_s = None`` is the clock alone (the racing ``portfolio`` engine).

Private to `sanitation.assignment`.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

# Rates measured on the project's 2-core machine, one engine at a time, load average 1.1-1.5
# (docs/assignment.md).
#: CP-SAT deterministic time units per reference second (one worker; measured 0.30-0.57)
CPSAT_DTIME_PER_S = 0.4
#: SCIP branch-and-bound nodes per reference second by usable pairs (one thread; assumed upper
#: bounds, so that the node limit ends only long tree searches: the root node, unbounded by
#: it, took all of 6 s on the hard single-source problems measured)
SCIP_NODES_PER_S = ((500, 200.0), (5_000, 20.0), (100_000, 2.0))
#: Lagrangian subgradient iterations x matrix cells (units x stations) per reference second
#: (measured 1.1-1.5e7 on 6,000-100,000 cells)
LAGRANGIAN_CELLS_PER_S = 1.2e7
#: local-search work (`local_search.iterated`, in matrix cells) per reference second (measured
#: 2.3e7 on Wangjiang, 1,065 units; 2.5-8e7 on Holmberg's 150-200 units)
LOCAL_CELLS_PER_S = 2.0e7


@dataclass(frozen=True)
class Budget:
    """``work_s`` reference seconds of work (None: the clock alone) before ``deadline``
    (a `time.perf_counter` value, the hard cap)."""

    work_s: float | None
    deadline: float

    @property
    def deterministic(self) -> bool:
        """True when a work budget, not the clock, is meant to stop the run."""
        return self.work_s is not None

    def left_s(self) -> float:
        """Wall-clock seconds to the deadline (0 once passed)."""
        return max(0.0, self.deadline - time.perf_counter())

    def part(self, work_s: float, *, clock_s: float) -> Budget:
        """A sub-budget: ``work_s`` of work, or with the clock alone ``clock_s`` seconds (both
        within this budget's deadline)."""
        if self.work_s is None:
            return Budget(None, min(self.deadline, time.perf_counter() + clock_s))
        return Budget(max(0.0, work_s), self.deadline)


def by_size(rates: Sequence[tuple[int, float]], size: int) -> float:
    """A rate of ``rates`` (``(size, rate)`` in increasing size) at ``size``: log-linear in
    between, constant beyond the ends."""
    x = math.log(max(1, size))
    points = [(math.log(s), math.log(r)) for s, r in rates]
    if x <= points[0][0]:
        return rates[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x <= x1:
            return math.exp(y0 + (x - x0) / (x1 - x0) * (y1 - y0))
    return rates[-1][1]


def cpsat_dtime(work_s: float) -> float:
    """CP-SAT ``max_deterministic_time`` for ``work_s`` reference seconds."""
    return max(0.01, work_s * CPSAT_DTIME_PER_S)


def scip_nodes(work_s: float, pairs: int) -> int:
    """SCIP ``limits/totalnodes`` for ``work_s`` reference seconds on a model of ``pairs``."""
    return max(1, round(work_s * by_size(SCIP_NODES_PER_S, pairs)))


def scip_work_s(nodes: int, pairs: int) -> float:
    """Reference seconds that ``nodes`` SCIP nodes stand for on a model of ``pairs``."""
    return nodes / by_size(SCIP_NODES_PER_S, pairs)


def lagrangian_iterations(work_s: float, cells: int) -> int:
    """Subgradient iterations for ``work_s`` reference seconds on ``cells`` matrix cells."""
    return max(1, math.floor(work_s * LAGRANGIAN_CELLS_PER_S / max(1, cells)))


def local_search_cells(work_s: float) -> float:
    """Local-search work (matrix cells, `local_search.iterated`) for ``work_s`` seconds."""
    return work_s * LOCAL_CELLS_PER_S
