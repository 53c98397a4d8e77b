"""The route-aware siting problem, the route oracle it is solved with, and the result.

``n`` customers, ``m`` sites; matrices are ``(n, m)`` (row = customer, column = site). Demand and
capacity are integers in one unit (e.g. kg/day); every cost is in one money unit (e.g. CNY/day).
No coordinates: the routing cost of a group of customers at a site comes only from the oracle.
A site may grow by expansion modules (built only at open sites; a site's module count is the
fewest that hold its load), and customers of one group (e.g. a village) may be kept at one site.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

IntArray = np.ndarray
FloatArray = np.ndarray
BoolArray = np.ndarray


def _frozen(array: np.ndarray) -> np.ndarray:
    out = np.array(array, copy=True)
    out.setflags(write=False)
    return out


def _checked(name: str, values: object, shape: tuple[int, ...], kind: str) -> np.ndarray:
    """``values`` as a frozen array of ``shape``: kind ``i`` integers >= 0, ``f`` finite >= 0,
    ``b`` booleans."""
    array = np.asarray(values)
    if array.shape != shape:
        msg = f"{name} must have shape {shape}, got {array.shape}."
        raise ValueError(msg)
    if kind == "b":
        if array.dtype != np.bool_:
            msg = f"{name} must be boolean, got dtype {array.dtype}."
            raise ValueError(msg)
        return _frozen(array)
    as_float = array.astype(np.float64)
    if not np.all(np.isfinite(as_float)):
        msg = f"{name} must be finite."
        raise ValueError(msg)
    if as_float.size and as_float.min() < 0:
        msg = f"{name} must be >= 0 (smallest is {as_float.min():g})."
        raise ValueError(msg)
    if kind == "i":
        if not np.all(as_float == np.round(as_float)):
            msg = f"{name} must hold integers."
            raise ValueError(msg)
        return _frozen(as_float.astype(np.int64))
    return _frozen(as_float)


@dataclass(frozen=True)
class SitingProblem:
    """Which sites to open and which site serves each customer, routes priced by an oracle.

    Parameters
    ----------
    opening_cost
        ``(m,)`` cost of opening (or keeping) each site.
    capacity
        ``(m,)`` integer capacity of each site, in the unit of ``demand``.
    demand
        ``(n,)`` integer demand of each customer.
    allowed
        ``(n, m)`` bool: site ``j`` may serve customer ``i``.
    assign_cost
        ``(n, m)`` cost customer ``i`` adds at site ``j`` that routing does not price (e.g. the
        transfer of its waste from the station to disposal); zeros when there is none.
    estimate
        ``(n, m)`` a route-free estimate of customer ``i``'s routing cost at site ``j``, used to
        propose sitings before any route is known.
    fixed_open, fixed_closed
        ``(m,)`` bool: sites that must be open / must stay closed (all False when omitted).
    site_ids, customer_ids
        Names used in messages (indices when omitted).
    expansion_capacity, expansion_cost, expansion_max
        ``(m,)`` per site: the integer capacity one expansion module adds, the cost of one module
        and the largest number of modules (zeros, no expansion, when omitted). A site's modules
        are the fewest that hold its load, ``ceil((load - capacity) / module)``; a load beyond
        ``capacity + expansion_max x module`` is infeasible.
    group
        ``(n,)`` integer group of each customer: all customers of a group at one site (None:
        each customer on its own).
    """

    opening_cost: FloatArray
    capacity: IntArray
    demand: IntArray
    allowed: BoolArray
    assign_cost: FloatArray
    estimate: FloatArray
    fixed_open: BoolArray | None = None
    fixed_closed: BoolArray | None = None
    site_ids: tuple[str, ...] | None = None
    customer_ids: tuple[str, ...] | None = None
    expansion_capacity: IntArray | None = None
    expansion_cost: FloatArray | None = None
    expansion_max: IntArray | None = None
    group: IntArray | None = None

    def __post_init__(self) -> None:
        m = int(np.asarray(self.opening_cost).shape[0]) if np.ndim(self.opening_cost) == 1 else -1
        n = int(np.asarray(self.demand).shape[0]) if np.ndim(self.demand) == 1 else -1
        if m < 1 or n < 1:
            msg = "opening_cost and demand must be non-empty 1-d arrays."
            raise ValueError(msg)
        self._set("opening_cost", _checked("opening_cost", self.opening_cost, (m,), "f"))
        self._set("capacity", _checked("capacity", self.capacity, (m,), "i"))
        self._set("demand", _checked("demand", self.demand, (n,), "i"))
        self._set("allowed", _checked("allowed", self.allowed, (n, m), "b"))
        self._set("assign_cost", _checked("assign_cost", self.assign_cost, (n, m), "f"))
        self._set("estimate", _checked("estimate", self.estimate, (n, m), "f"))
        for name in ("fixed_open", "fixed_closed"):
            values = getattr(self, name)
            values = np.zeros(m, dtype=bool) if values is None else values
            self._set(name, _checked(name, values, (m,), "b"))
        for name, kind in (
            ("expansion_capacity", "i"),
            ("expansion_cost", "f"),
            ("expansion_max", "i"),
        ):
            values = getattr(self, name)
            self._set(name, _checked(name, np.zeros(m) if values is None else values, (m,), kind))
        no_module = (self.module_max > 0) & (self.module_size == 0)
        if np.any(no_module):
            j = int(np.flatnonzero(no_module)[0])
            msg = f"expansion_capacity of site {self.site_name(j)!r} must be > 0 with modules."
            raise ValueError(msg)
        if self.group is not None:
            self._set("group", _checked("group", self.group, (n,), "i"))
        both = self.must_open & self.must_close
        if np.any(both):
            j = int(np.flatnonzero(both)[0])
            msg = f"site {self.site_name(j)!r} is both fixed_open and fixed_closed."
            raise ValueError(msg)
        for name, ids, size in (
            ("site_ids", self.site_ids, m),
            ("customer_ids", self.customer_ids, n),
        ):
            if ids is not None and len(ids) != size:
                msg = f"{name} must have {size} entries, got {len(ids)}."
                raise ValueError(msg)

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)

    @property
    def must_open(self) -> BoolArray:
        """``(m,)`` bool, sites fixed open."""
        return np.asarray(self.fixed_open, dtype=bool)

    @property
    def must_close(self) -> BoolArray:
        """``(m,)`` bool, sites fixed closed."""
        return np.asarray(self.fixed_closed, dtype=bool)

    @property
    def module_size(self) -> IntArray:
        """``(m,)`` capacity of one expansion module of each site (zeros: no modules)."""
        return np.asarray(self.expansion_capacity, dtype=np.int64)

    @property
    def module_max(self) -> IntArray:
        """``(m,)`` the largest number of modules of each site."""
        return np.asarray(self.expansion_max, dtype=np.int64)

    @property
    def max_capacity(self) -> IntArray:
        """``(m,)`` capacity of each site with every expansion module built."""
        return np.asarray(self.capacity + self.module_max * self.module_size)

    def load(self, site_of: IntArray) -> IntArray:
        """``(m,)`` integer load of each site when customer ``i`` goes to ``site_of[i]``."""
        return np.bincount(site_of, weights=self.demand, minlength=self.n_sites).astype(np.int64)

    def modules(self, site_of: IntArray) -> IntArray:
        """``(m,)`` the fewest modules holding each site's load (may exceed ``expansion_max``:
        then the allocation is infeasible)."""
        over = np.maximum(0, self.load(site_of) - self.capacity)
        unit = np.maximum(1, self.module_size)
        needed = -(-over // unit)
        return np.asarray(np.where(over > 0, needed, 0), dtype=np.int64)

    def expansion_total(self, site_of: IntArray) -> float:
        """Cost of the modules ``site_of`` needs (see `modules`)."""
        return float((self.modules(site_of) * np.asarray(self.expansion_cost)).sum())

    def members(self) -> list[IntArray]:
        """The customers of each group (ascending; one list per customer when ungrouped)."""
        if self.group is None:
            return [np.array([i]) for i in range(self.n_customers)]
        order = np.argsort(self.group, kind="stable")
        cuts = np.flatnonzero(np.diff(self.group[order])) + 1
        return [np.sort(part) for part in np.split(order, cuts)]

    def split_groups(self, site_of: IntArray) -> bool:
        """Whether some group's customers are at more than one site."""
        if self.group is None:
            return False
        pairs = np.unique(np.stack([self.group, site_of]), axis=1)
        return bool(pairs.shape[1] > np.unique(self.group).size)

    @property
    def n_customers(self) -> int:
        """Number of customers ``n``."""
        return int(self.demand.shape[0])

    @property
    def n_sites(self) -> int:
        """Number of sites ``m``."""
        return int(self.opening_cost.shape[0])

    def site_name(self, j: int) -> str:
        """The id of site ``j`` (its index when no ids were given)."""
        return self.site_ids[j] if self.site_ids is not None else str(j)

    def customer_name(self, i: int) -> str:
        """The id of customer ``i`` (its index when no ids were given)."""
        return self.customer_ids[i] if self.customer_ids is not None else str(i)


@dataclass(frozen=True)
class RoutedGroup:
    """The routes serving a group of customers from one site and their cost."""

    cost: float
    routes: tuple[tuple[int, ...], ...]


class RouteOracle(Protocol):
    """Routes one site's customers: their routed cost and routes, or None (not routable).

    ``customers`` is sorted ascending and never empty. For deterministic results the oracle must
    return the same answer for the same ``(site, customers, seed)`` (an iteration budget inside,
    not only ``time_limit_s``).
    """

    def __call__(
        self, site: int, customers: tuple[int, ...], *, time_limit_s: float, seed: int
    ) -> RoutedGroup | None: ...


@dataclass(frozen=True)
class RouteRequest:
    """One group to route: a site and its customers (sorted ascending, never empty), with the
    arguments of the `RouteOracle` call it stands for."""

    site: int
    customers: tuple[int, ...]
    time_limit_s: float
    seed: int


class RouteBatch(Protocol):
    """Routes several independent groups at once (e.g. on a process pool): one answer per
    request, in the order of ``requests`` whatever order they finish in, each the answer the
    `RouteOracle` gives for the same arguments."""

    def __call__(self, requests: Sequence[RouteRequest]) -> Sequence[RoutedGroup | None]: ...


@dataclass(frozen=True)
class Whole:
    """A complete candidate: the site of every customer and the routed groups of the open sites
    (``groups`` may leave sites out: `solve_siting` routes those with its cached oracle)."""

    site_of: IntArray
    groups: dict[int, RoutedGroup]


class WholeRouter(Protocol):
    """Optional, stronger than the per-site oracle: route all customers from a set of open sites
    at once (e.g. a multi-depot solve), choosing the allocation itself within ``allowed`` and the
    site capacities, optionally starting from ``initial``; None when it finds nothing feasible."""

    def __call__(
        self,
        open_sites: tuple[int, ...],
        *,
        time_limit_s: float,
        seed: int,
        initial: Whole | None = None,
    ) -> Whole | None: ...


@dataclass(frozen=True)
class SitingResult:
    """A verified siting: open sites, the site of each customer, the routed groups and costs.

    ``estimate_*`` describe the siting the estimate alone chooses (the assignment model on
    ``estimate``, or the caller's ``estimate_site_of``) and its cost once its groups are routed,
    for "routed cost vs estimate". ``modules`` are the expansion modules of each site (the
    fewest its load needs), ``expansion_cost`` their cost. ``initial_totals`` is the routed
    total of each ``initial`` whole (None: not valid or not routable).
    """

    open: BoolArray
    site_of: IntArray
    groups: dict[int, RoutedGroup]
    opening_cost: float
    routed_cost: float
    assign_cost: float
    estimate_open: BoolArray
    estimate_site_of: IntArray
    estimate_objective: float
    estimate_routed_total: float
    oracle_calls: int
    evaluations: int
    seconds: float
    stopped_by: str
    history: tuple[tuple[float, float], ...] = field(default=())
    expansion_cost: float = 0.0
    modules: IntArray | None = None
    initial_totals: tuple[float | None, ...] = field(default=())

    @property
    def total_cost(self) -> float:
        """Opening + expansion modules + routed + assignment cost."""
        return self.opening_cost + self.expansion_cost + self.routed_cost + self.assign_cost
