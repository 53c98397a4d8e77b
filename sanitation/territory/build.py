"""Territories of one station: a balanced, capacitated p-median on road travel times.

Each point goes to one truck for the whole week (定人定车定线). The model is the classical
location-allocation scheme of districting (Hess et al. 1965, "Nonpartisan political
redistricting by computer", Operations Research 13(6); reviewed in Kalcsics & Ríos-Mercado
2019, "Districting problems", in Location Science): each truck's territory has a centre (a
point); given the centres, CP-SAT assigns every point to a truck, minimising the visit-weighted
road travel time to its truck's centre, subject to

- access: a truck serves only points its access class may reach (roads both ways);
- the scenario's fixed points (``points.truck_id``, a territory layer);
- every day's estimated work of a territory within its truck's longest route;
- contiguity along roads: a point of a territory other than its centre has a road neighbour in
  the same territory closer to the centre (`_contiguity`; the neighbours and the model are in
  `sanitation.territory.contiguity`), so each territory is one piece of the road-neighbour
  graph. Fixed and kept points, and narrow-lane points (not every truck may serve them), are
  exempt: they win over contiguity (`Territories.detached` lists the points left apart);
- balance: each truck's week work within ``band`` of its share of the station's (its share is
  proportional to its route limit); the band widens (`BANDS`) until the model is feasible.
  When no band is feasible with contiguity, the bands are tried again without it
  (``Territories.contiguity`` False), so contiguity never makes a station infeasible.

Then each centre moves to the point of its territory with the least visit-weighted travel to
the others, and the assignment is solved again, until the centres stop moving (`MAX_ROUNDS`);
the best assignment found is kept (`_Assignment.beats`: with contiguity, then the narrowest
band, then the cheapest). A full p-median with balance has n² × trucks variables (a county
station has hundreds of points); this alternation keeps the exact assignment step at n ×
trucks.

Work of a point-visit (s, an estimate; the routes' real hours are in the plan): its service
time, `TOUR_PER_NEAREST` × the mean travel to and from its nearest other point due that day,
and its share of the unload trips, kg ÷ truck capacity × (the round trip to the station + the
unload). A truck's day adds the round trip from the depot to its territory's centre.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from sanitation.errors import InfeasibleError
from sanitation.territory.contiguity import Adjacency, closer_neighbours, detached, road_neighbours
from sanitation.territory.problem import (
    NO_PATH_S,
    ChangeReason,
    Territories,
    TerritoryProblem,
    Truck,
)

#: balance bands tried in turn: a truck's week work within ±band of its share (None: no band,
#: the loosest, last)
BANDS: tuple[float | None, ...] = (0.10, 0.20, 0.40, None)
MAX_ROUNDS = 4  # centre moves of the location-allocation alternation (assumed; it settles in 2-4)
#: a short tour through random points is about 0.7124·sqrt(n·A) long (Beardwood, Halton &
#: Hammersley 1959; constant from Applegate et al. 2006, "The Traveling Salesman Problem") and
#: a point's mean distance to its nearest neighbour 0.5·sqrt(A/n) (Clark & Evans 1954), so a
#: tour's leg is about 0.7124 / 0.5 of the nearest-neighbour travel
TOUR_PER_NEAREST = 0.7124 / 0.5
#: share of a truck's day the territories plan to fill, so that routes (longer than the
#: estimate: waiting for time windows, a lunch break wherever the window falls) still fit
#: (assumed)
DAY_FILL = 0.85
#: CP-SAT deterministic time per assignment solve (s; assumed: a station's few thousand pairs)
DTIME_PER_SOLVE_S = 0.5


@dataclass(frozen=True)
class _Assignment:
    """One assignment: its travel cost, the owner (truck index) per point, the band it met,
    whether CP-SAT proved it optimal, the centres, whether contiguity was a constraint, and
    its points whose contiguity condition fails (when it was not)."""

    cost: float
    owner: np.ndarray
    band: float | None
    optimal: bool
    centres: list[int]
    contiguity: bool
    breaks: int

    def beats(self, other: _Assignment | None) -> bool:
        """Better than ``other``: with contiguity where it was without, else within a narrower
        band (`BANDS`), else with fewer breaks of contiguity, else cheaper."""
        if other is None:
            return True
        mine = (not self.contiguity, BANDS.index(self.band), self.breaks)
        theirs = (not other.contiguity, BANDS.index(other.band), other.breaks)
        return mine < theirs or (mine == theirs and self.cost < other.cost - 1e-9)


@dataclass(frozen=True)
class _Work:
    """Estimated work (s): ``visit[i, d, k]`` of point i's visit on day d by truck k."""

    visit: np.ndarray  # (n, days, trucks) int64
    allowed: np.ndarray  # (n, trucks) bool


def visit_work(problem: TerritoryProblem) -> _Work:
    """The estimated work of every point-visit per truck (see the module docstring)."""
    n, days, trucks = len(problem.point_ids), problem.n_days, problem.trucks
    kg = np.array(problem.visits_kg, dtype=np.float64).reshape(n, days)
    nearest = _nearest_due(problem.duration_s[0], kg > 0)
    service = np.array(problem.service_s, dtype=np.float64)
    visit = np.zeros((n, days, len(trucks)), dtype=np.int64)
    allowed = np.zeros((n, len(trucks)), dtype=bool)
    for k, truck in enumerate(trucks):
        m = problem.duration_s[truck.profile]
        trip = (m[2:, 1] + m[1, 2:]).astype(np.float64) + problem.unload_s
        trip = np.where(trip < NO_PATH_S, trip, 0.0)
        per_visit = (
            service[:, None] + TOUR_PER_NEAREST * nearest + kg / truck.capacity_kg * trip[:, None]
        )
        visit[:, :, k] = np.where(kg > 0, np.ceil(per_visit), 0).astype(np.int64)
        allowed[:, k] = [problem.may_serve(truck, i) for i in range(n)]
    return _Work(visit, allowed)


def _nearest_due(matrix: np.ndarray, due: np.ndarray) -> np.ndarray:
    """(points, days): mean travel (s) to and from each point's nearest other point due the
    same day (0 for a point alone or not due)."""
    inner = matrix[2:, 2:].astype(np.float64)
    both = (inner + inner.T) / 2
    both[both >= NO_PATH_S] = np.inf
    np.fill_diagonal(both, np.inf)
    out = np.zeros(due.shape)
    for d in range(due.shape[1]):
        mask = due[:, d]
        if mask.sum() < 2:
            continue
        nearest = both[:, mask].min(axis=1)
        out[:, d] = np.where(mask & np.isfinite(nearest), nearest, 0.0)
    return out


def build_territories(
    problem: TerritoryProblem,
    *,
    seed: int = 1,
    day_fill: float = DAY_FILL,
    dtime_per_solve_s: float = DTIME_PER_SOLVE_S,
) -> Territories:
    """The station's territories (see the module docstring); ``day_fill`` (0.3-1.0) is the
    share of each truck's day the estimated work may fill when choosing how many trucks work.

    With ``problem.kept`` (a baseline's territories) every kept point stays on its truck where
    that truck is here, may serve it and its kept points fit its day (`_held`); only the others
    are assigned, by the same model with the held points fixed. When no split holds them, the
    territories are built afresh. ``Territories.changed`` lists the kept points now on another
    truck, with the reason.

    Raises
    ------
    InfeasibleError
        A territory (a fixed one, or any split of the station's points) whose estimated work on
        some day exceeds its truck's longest route; the message names the truck or station and
        the day.
    """
    if not problem.kept:
        return _build(problem, seed=seed, day_fill=day_fill, dtime_s=dtime_per_solve_s)
    plain = dataclasses.replace(problem, kept={})
    held, why = _held(problem, visit_work(problem))
    try:
        built = _build(
            dataclasses.replace(plain, fixed={**held, **problem.fixed}),
            seed=seed,
            day_fill=day_fill,
            dtime_s=dtime_per_solve_s,
        )
    except InfeasibleError:
        built = _build(plain, seed=seed, day_fill=day_fill, dtime_s=dtime_per_solve_s)
        why = {p: why.get(p, ChangeReason.REBUILT) for p in problem.kept}
    changed = {
        point_id: str(why.get(point_id, ChangeReason.REBUILT))
        for point_id, truck_id in sorted(problem.kept.items())
        if built.truck_of.get(point_id) != truck_id
    }
    return dataclasses.replace(built, changed=changed)


def _held(problem: TerritoryProblem, work: _Work) -> tuple[dict[str, str], dict[str, ChangeReason]]:
    """The kept points that stay on their truck (point → truck), and why each other one may
    not: its truck is not here, may not serve it, or its kept points (with the truck's fixed
    ones and the daily round trip to their centre) exceed the truck's day on some day; then the
    points farthest from that centre, due that day, are let go until the rest fit."""
    index = {t.truck_id: k for k, t in enumerate(problem.trucks)}
    position = {p: i for i, p in enumerate(problem.point_ids)}
    why: dict[str, ChangeReason] = {}
    members: dict[int, list[int]] = {}
    for point_id, truck_id in sorted(problem.kept.items()):
        i, k = position[point_id], index.get(truck_id)
        if problem.fixed.get(point_id, truck_id) != truck_id:
            why[point_id] = ChangeReason.FIXED
        elif k is None:
            why[point_id] = ChangeReason.TRUCK_REMOVED
        elif not work.allowed[i, k]:
            why[point_id] = ChangeReason.ACCESS
        elif point_id not in problem.fixed:
            members.setdefault(k, []).append(i)
    fixed, _ = _fixed(problem, work)
    held: dict[str, str] = {}
    for k, own in sorted(members.items()):
        truck = problem.trucks[k]
        pinned = [i for i, owner in fixed.items() if owner == k]
        centre = _medoid(problem, truck, own + pinned, _weights(problem))
        pair = _pair_time(problem, truck, centre)
        far_first = sorted(own, key=lambda i: (-pair[i], i))
        overhead = _overhead(problem, truck, centre)
        day_s = work.visit[own + pinned, :, k].sum(axis=0)
        for i in far_first:
            loaded = day_s + np.where(day_s > 0, overhead, 0)
            worst = int(np.argmax(loaded))
            if loaded[worst] <= truck.limit_s:
                break
            if work.visit[i, worst, k] > 0:
                day_s = day_s - work.visit[i, :, k]
                why[problem.point_ids[i]] = ChangeReason.OVER_SHIFT
        held.update(
            {problem.point_ids[i]: truck.truck_id for i in own if problem.point_ids[i] not in why}
        )
    return held, why


def _build(problem: TerritoryProblem, *, seed: int, day_fill: float, dtime_s: float) -> Territories:
    """`build_territories` of a problem without kept points."""
    n, trucks = len(problem.point_ids), problem.trucks
    work = visit_work(problem)
    fixed, moved = _fixed(problem, work)
    orphans = tuple(problem.point_ids[i] for i in range(n) if not work.allowed[i].any())
    if not trucks or n == 0:
        return Territories(problem.station_id, {}, {}, {}, {}, None, True, 0, orphans, moved)
    if not 0.3 <= day_fill <= 1.0:
        msg = f"day_fill must be in [0.3, 1.0], got {day_fill}."
        raise ValueError(msg)
    _check_fixed_days(problem, work, fixed)
    graphs = _graphs(problem, work)
    for subset, fill in _fleets(problem, work, fixed, day_fill):
        sub = _sub_problem(problem, subset, fill, {problem.point_ids[i] for i in fixed})
        sub_graphs = [graphs[t.profile] for t in sub.trucks]
        found = _alternate(sub, sub_graphs, seed=seed, dtime_s=dtime_s)
        if found is not None:
            sub_work = visit_work(sub)
            return _territories(sub, sub_work, sub_graphs, found[0], found[1], orphans, moved)
    raise _infeasible(problem, work)


def _graphs(problem: TerritoryProblem, work: _Work) -> dict[int, Adjacency]:
    """Access profile → the road neighbours of the points its trucks may serve, on its roads
    (`sanitation.territory.contiguity`)."""
    out: dict[int, Adjacency] = {}
    for k, truck in enumerate(problem.trucks):
        if truck.profile not in out:
            out[truck.profile] = road_neighbours(
                problem.duration_s[truck.profile], work.allowed[:, k]
            )
    return out


def _fleets(
    problem: TerritoryProblem, work: _Work, fixed: dict[int, int], day_fill: float
) -> list[tuple[list[int], float]]:
    """The truck subsets tried in turn, with the share of each truck's day they may fill: the
    fewest trucks the week's busiest day needs (within ``day_fill``) and more, one at a time, in
    preference order (trucks of fixed points, then the smallest access class, then the largest
    capacity); then every truck with its whole day. A subset must reach every point some truck
    of the station may serve."""
    trucks = problem.trucks
    with_fixed = set(fixed.values())
    order = sorted(
        range(len(trucks)),
        key=lambda k: (k not in with_fixed, trucks[k].profile, -trucks[k].capacity_kg, k),
    )
    busiest = float(work.visit.min(axis=2).sum(axis=0).max()) if work.visit.size else 0.0
    longest = max(t.limit_s for t in trucks) * day_fill
    first = max(1, len(with_fixed), math.ceil(busiest / longest))
    reachable = work.allowed.any(axis=1)
    out = []
    for size in range(min(first, len(trucks)), len(trucks) + 1):
        subset = sorted(order[:size])
        if (work.allowed[:, subset].any(axis=1) == reachable).all():
            out.append((subset, day_fill))
    out.append((list(range(len(trucks))), 1.0))
    return out


def _sub_problem(
    problem: TerritoryProblem, subset: list[int], fill: float, fixed_ids: set[str]
) -> TerritoryProblem:
    """``problem`` with the trucks of ``subset`` only, each day filled to ``fill`` of its limit;
    fixed points kept only where their truck may serve them (the others were reassigned)."""
    trucks = tuple(
        dataclasses.replace(
            problem.trucks[k], limit_s=max(1, math.floor(problem.trucks[k].limit_s * fill))
        )
        for k in subset
    )
    return dataclasses.replace(
        problem,
        trucks=trucks,
        fixed={p: t for p, t in problem.fixed.items() if p in fixed_ids},
    )


def _alternate(
    problem: TerritoryProblem, graphs: list[Adjacency], *, seed: int, dtime_s: float
) -> tuple[_Assignment, int] | None:
    """The location-allocation rounds on ``problem`` (``graphs``: each truck's road
    neighbours): the best assignment (`_Assignment.beats`) and the rounds run, or None when no
    assignment fits the trucks' days."""
    work = visit_work(problem)
    fixed, _ = _fixed(problem, work)
    centres = _first_centres(problem, work, fixed)
    best: _Assignment | None = None
    rounds = 0
    for rounds in range(1, MAX_ROUNDS + 1):  # noqa: B007 - the count is reported
        solved = _assign(problem, work, fixed, centres, graphs, seed=seed, dtime_s=dtime_s)
        if solved is None:
            break
        if solved.beats(best):
            best = solved
        moved_centres = _recentre(problem, work, solved.owner, centres)
        if moved_centres == centres:
            break
        centres = moved_centres
    return (best, rounds) if best is not None else None


def _fixed(problem: TerritoryProblem, work: _Work) -> tuple[dict[int, int], tuple[str, ...]]:
    """Point index → truck index of the fixed points this station's trucks may serve; the fixed
    points whose truck does not work here or may not serve them (they are reassigned)."""
    index = {t.truck_id: k for k, t in enumerate(problem.trucks)}
    position = {p: i for i, p in enumerate(problem.point_ids)}
    fixed, moved = {}, []
    for point_id, truck_id in sorted(problem.fixed.items()):
        i, k = position[point_id], index.get(truck_id)
        if k is None or not work.allowed[i, k]:
            moved.append(point_id)
        else:
            fixed[i] = k
    return fixed, tuple(moved)


def _check_fixed_days(problem: TerritoryProblem, work: _Work, fixed: dict[int, int]) -> None:
    """A fixed territory whose fixed points alone exceed its truck's day: exit 3, naming it."""
    for k, truck in enumerate(problem.trucks):
        points = [i for i, owner in fixed.items() if owner == k]
        if not points:
            continue
        day_s = work.visit[points, :, k].sum(axis=0)
        worst = int(np.argmax(day_s))
        if day_s[worst] > truck.limit_s:
            msg = (
                f"the territory of truck {truck.truck_id} at station {problem.station_id} "
                f"({len(points)} fixed point(s)) needs about {day_s[worst] / 3600:.1f} h on day "
                f"{worst + 1} of the plan, more than its longest route of "
                f"{truck.limit_s / 3600:.1f} h: no truck can serve it within its shift"
            )
            raise InfeasibleError(msg)


def _infeasible(problem: TerritoryProblem, work: _Work) -> InfeasibleError:
    """No split fits the trucks' days: exit 3 naming the station and its busiest day."""
    day_s = work.visit.min(axis=2).sum(axis=0)
    worst = int(np.argmax(day_s))
    limit = sum(t.limit_s for t in problem.trucks)
    msg = (
        f"station {problem.station_id}: no split of its points into territories of its "
        f"{len(problem.trucks)} truck(s) fits their shifts: day {worst + 1} of the plan needs "
        f"about {day_s[worst] / 3600:.1f} h of work against {limit / 3600:.1f} h of routes, or a "
        "fixed or narrow-lane point's truck is overloaded"
    )
    return InfeasibleError(msg)


def _pair_time(problem: TerritoryProblem, truck: Truck, centre: int) -> np.ndarray:
    """Mean travel (s) between the centre point and every point, on ``truck``'s roads."""
    m = problem.duration_s[truck.profile]
    loc = centre + 2
    return (m[loc, 2:].astype(np.float64) + m[2:, loc]) / 2


def _overhead(problem: TerritoryProblem, truck: Truck, centre: int) -> int:
    """A truck's daily round trip (s) from the depot to its territory's centre."""
    m = problem.duration_s[truck.profile]
    return int(m[0, centre + 2]) + int(m[centre + 2, 0])


def _weights(problem: TerritoryProblem) -> np.ndarray:
    """Visits per point over the week (at least 1, so that undue points sit compactly too)."""
    due = np.array(problem.visits_kg).reshape(len(problem.point_ids), -1) > 0
    weight: np.ndarray = np.maximum(1, due.sum(axis=1))
    return weight


def _first_centres(problem: TerritoryProblem, work: _Work, fixed: dict[int, int]) -> list[int]:
    """A centre per truck: the medoid of its fixed points, else the point it may serve farthest
    (by road) from the centres chosen so far (the depot first); narrow-access trucks choose
    first."""
    base = problem.duration_s[0].astype(np.float64)
    symmetric = (base + base.T) / 2
    n = len(problem.point_ids)
    chosen: dict[int, int] = {}
    order = sorted(range(len(problem.trucks)), key=lambda k: (-problem.trucks[k].profile, k))
    for k in order:
        own = [i for i, owner in fixed.items() if owner == k]
        if own:
            chosen[k] = _medoid(problem, problem.trucks[k], own, _weights(problem))
            continue
        candidates = [i for i in range(n) if work.allowed[i, k]] or list(range(n))
        taken = [0] + [c + 2 for c in chosen.values()]
        gap = symmetric[np.ix_([c + 2 for c in candidates], taken)].min(axis=1)
        chosen[k] = candidates[int(np.argmax(gap))]
    return [chosen[k] for k in range(len(problem.trucks))]


def _medoid(problem: TerritoryProblem, truck: Truck, members: list[int], weight: np.ndarray) -> int:
    """The member with the least visit-weighted travel to the other members."""
    m = problem.duration_s[truck.profile].astype(np.float64)
    loc = np.array(members) + 2
    both = (m[np.ix_(loc, loc)] + m[np.ix_(loc, loc)].T) / 2
    return members[int(np.argmin(both @ weight[members]))]


def _recentre(
    problem: TerritoryProblem, work: _Work, owner: np.ndarray, centres: list[int]
) -> list[int]:
    """Each truck's centre moved to its territory's medoid (kept when the territory is empty)."""
    weight = _weights(problem)
    out = []
    for k, truck in enumerate(problem.trucks):
        members = [int(i) for i in np.flatnonzero(owner == k)]
        out.append(_medoid(problem, truck, members, weight) if members else centres[k])
    return out


def _assign(
    problem: TerritoryProblem,
    work: _Work,
    fixed: dict[int, int],
    centres: list[int],
    graphs: list[Adjacency],
    *,
    seed: int,
    dtime_s: float,
) -> _Assignment | None:
    """The assignment for these centres with the narrowest feasible band, contiguous along
    roads (`_contiguity`); when no band is feasible with contiguity, the narrowest without it
    (its breaks of contiguity counted, `_breaks`); None when no band is feasible at all. The
    bands with contiguity are tried only when the loosest (no band) has a solution with it. A
    lone truck needs no second try: the points it may serve reach each other along roads
    (through the depot), so contiguity cannot bind."""
    links = _links(problem, work, fixed, centres, graphs)
    rules: list[_Links | None] = [links]
    if len(problem.trucks) > 1:
        loosest = _assign_band(
            problem, work, fixed, centres, None, links, probe=True, seed=seed, dtime_s=dtime_s
        )
        rules = [links, None] if loosest is not None else [None]
    for rule in rules:
        for band in BANDS:
            solved = _assign_band(
                problem, work, fixed, centres, band, rule, seed=seed, dtime_s=dtime_s
            )
            if solved is not None:
                cost, owner, optimal = solved
                contiguity = rule is not None
                breaks = 0 if contiguity else _breaks(owner, links)
                return _Assignment(cost, owner, band, optimal, list(centres), contiguity, breaks)
    return None


#: the contiguity conditions: (point, truck) → the point's road neighbours closer to the
#: truck's centre, one of which the truck must take if it takes the point (none: it may not)
_Links = dict[tuple[int, int], tuple[int, ...]]


def _links(
    problem: TerritoryProblem,
    work: _Work,
    fixed: dict[int, int],
    centres: list[int],
    graphs: list[Adjacency],
) -> _Links:
    """The contiguity conditions of every pair a truck may take
    (`sanitation.territory.contiguity.closer_neighbours` over the points it may take), but a
    centre's own and the exempt pairs: a fixed (or kept) point on its truck, and a point that
    not every truck may serve (narrow lanes: its access class, not contiguity, decides; it may
    still link others). A truck whose centre it may not take (fixed to another truck) gets no
    conditions this round (the medoid step moves its centre into its territory)."""
    out: _Links = {}
    everyone = work.allowed.all(axis=1)
    for k, truck in enumerate(problem.trucks):
        usable = work.allowed[:, k].copy()
        for i, owner in fixed.items():
            usable[i] = owner == k
        if not usable[centres[k]]:
            continue
        matrix = problem.duration_s[truck.profile]
        closer = closer_neighbours(graphs[k], matrix, usable, centres[k])
        for i in (int(point) for point in np.flatnonzero(usable & everyone)):
            if i != centres[k] and fixed.get(i) != k:
                out[(i, k)] = closer[i] or ()
    return out


def _breaks(owner: np.ndarray, links: _Links) -> int:
    """Points of an assignment whose contiguity condition (`_contiguity`) fails."""
    return sum(
        owner[i] == k and not any(owner[j] == k for j in towards)
        for (i, k), towards in links.items()
    )


def _contiguity(
    model: cp_model.CpModel, x: dict[tuple[int, int], cp_model.IntVar], links: _Links
) -> None:
    """Shortest-path contiguity (Zoltners & Sinha 1983): a point of truck k's territory other
    than its centre has a road neighbour in the territory closer to the centre, so one that
    no neighbour path leads to from the centre is not k's (`_links`, which exempts fixed,
    kept and narrow-lane points)."""
    for (i, k), towards in links.items():
        model.add(x[(i, k)] <= cp_model.LinearExpr.sum([x[(j, k)] for j in towards]))


def _assign_band(
    problem: TerritoryProblem,
    work: _Work,
    fixed: dict[int, int],
    centres: list[int],
    band: float | None,
    links: _Links | None,
    *,
    probe: bool = False,
    seed: int,
    dtime_s: float,
) -> tuple[float, np.ndarray, bool] | None:
    """One CP-SAT assignment (see `_assign`; ``links``: contiguity, None without): (travel
    cost, owner per point, proven optimal), None when infeasible (or no solution in time).
    ``probe``: the first solution found, without the objective."""
    model, x, cost = _base_model(problem, work, fixed, centres, band)
    if links is not None:
        _contiguity(model, x, links)
    if not probe:
        model.minimize(cp_model.LinearExpr.weighted_sum(list(x.values()), [cost[key] for key in x]))
    return _solve(model, x, len(problem.point_ids), seed=seed, dtime_s=dtime_s)


def _base_model(
    problem: TerritoryProblem,
    work: _Work,
    fixed: dict[int, int],
    centres: list[int],
    band: float | None,
) -> tuple[cp_model.CpModel, dict[tuple[int, int], cp_model.IntVar], dict[tuple[int, int], int]]:
    """The assignment model without contiguity or objective: its literals x[point, truck] and
    their travel costs."""
    n, trucks = len(problem.point_ids), problem.trucks
    weight = _weights(problem)
    model = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    cost: dict[tuple[int, int], int] = {}
    overheads = [_overhead(problem, t, centres[k]) for k, t in enumerate(trucks)]
    for k, truck in enumerate(trucks):
        pair = _pair_time(problem, truck, centres[k])
        overhead = overheads[k]
        day_terms: list[list[tuple[cp_model.IntVar, int]]] = [[] for _ in range(problem.n_days)]
        for i in range(n):
            if not work.allowed[i, k] or (i in fixed and fixed[i] != k):
                continue
            x[(i, k)] = model.new_bool_var(f"x{i}_{k}")
            cost[(i, k)] = int(weight[i] * min(pair[i], NO_PATH_S))
            for d in range(problem.n_days):
                if work.visit[i, d, k] > 0:
                    day_terms[d].append((x[(i, k)], int(work.visit[i, d, k])))
        for terms in day_terms:
            if terms:
                model.add(sum(c * v for v, c in terms) + overhead <= truck.limit_s)
    for i in range(n):
        options = [x[(i, k)] for k in range(len(trucks)) if (i, k) in x]
        if options:
            model.add_exactly_one(options)
        if i in fixed:
            model.add(x[(i, fixed[i])] == 1)
    if band is not None:
        _balance(model, problem, work, x, band, overheads)
    return model, x, cost


def _solve(
    model: cp_model.CpModel,
    x: dict[tuple[int, int], cp_model.IntVar],
    n: int,
    *,
    seed: int,
    dtime_s: float,
) -> tuple[float, np.ndarray, bool] | None:
    """Solve an assignment model: (objective, owner per point, proven optimal), None when
    infeasible or no solution in time."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(seed) % 2**31
    solver.parameters.max_deterministic_time = dtime_s
    solver.parameters.max_time_in_seconds = 10 * dtime_s  # a hard cap on a loaded machine
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    owner = np.full(n, -1, dtype=np.int64)
    for (i, k), var in x.items():
        if solver.boolean_value(var):
            owner[i] = k
    return float(solver.objective_value), owner, status == cp_model.OPTIMAL


def _balance(
    model: cp_model.CpModel,
    problem: TerritoryProblem,
    work: _Work,
    x: dict[tuple[int, int], cp_model.IntVar],
    band: float,
    overheads: list[int],
) -> None:
    """Each truck's work (with its depot trips) within ±``band`` of its share of the station's,
    over the week and on each day (shares in proportion to the trucks' route limits)."""
    limits = np.array([t.limit_s for t in problem.trucks], dtype=np.float64)
    # a point's mean work over the trucks that may serve it (0 for a point none may serve)
    allowed = work.allowed.sum(axis=1)[:, None]
    summed = np.where(work.allowed[:, None, :], work.visit, 0).sum(axis=2).astype(np.float64)
    mean_work = np.divide(summed, allowed, out=np.zeros_like(summed), where=allowed > 0)
    for day in [*range(problem.n_days), None]:
        days = range(problem.n_days) if day is None else [day]
        active = [d for d in days if mean_work[:, d].sum() > 0]
        if not active:
            continue
        total = float(np.nansum(mean_work[:, active])) + len(active) * sum(overheads)
        for k in range(len(problem.trucks)):
            share = total * limits[k] / limits.sum()
            trips = len(active) * overheads[k]
            load = cp_model.LinearExpr.weighted_sum(
                [var for (_, kk), var in x.items() if kk == k],
                [int(work.visit[i, active, kk].sum()) for (i, kk) in x if kk == k],
            )
            model.add(load + trips <= math.floor(share * (1 + band)))
            model.add(load + trips >= math.ceil(share * (1 - band)))


def _territories(
    problem: TerritoryProblem,
    work: _Work,
    graphs: list[Adjacency],
    best: _Assignment,
    rounds: int,
    orphans: tuple[str, ...],
    moved: tuple[str, ...],
) -> Territories:
    """The territories of ``problem``'s trucks (the station's trucks not in it get none); day
    hours are estimates (`visit_work`); each territory's points apart from its centre's piece
    along ``graphs``."""
    owner, centres = best.owner, best.centres
    truck_of, day_s = {}, np.zeros((len(problem.trucks), problem.n_days))
    for i, k in enumerate(owner):
        if k >= 0:
            truck_of[problem.point_ids[i]] = problem.trucks[k].truck_id
            day_s[k] += work.visit[i, :, k]
    for k, truck in enumerate(problem.trucks):
        day_s[k] += np.where(day_s[k] > 0, _overhead(problem, truck, centres[k]), 0)
    ids = [t.truck_id for t in problem.trucks]
    return Territories(
        station_id=problem.station_id,
        truck_of=truck_of,
        week_hours={t: round(float(day_s[k].sum()) / 3600, 2) for k, t in enumerate(ids)},
        day_hours={t: _hours(day_s[k]) for k, t in enumerate(ids)},
        seeds={t: problem.point_ids[centres[k]] for k, t in enumerate(ids)},
        band=best.band,
        optimal=best.optimal,
        rounds=rounds,
        orphans=orphans,
        moved=moved,
        detached={
            t: _detached(problem, graphs[k], owner, k, centres[k]) for k, t in enumerate(ids)
        },
        contiguity=best.contiguity,
    )


def _detached(
    problem: TerritoryProblem, graph: Adjacency, owner: np.ndarray, k: int, centre: int
) -> tuple[str, ...]:
    """The points of truck ``k``'s territory apart from its centre's piece along ``graph``."""
    members = [int(i) for i in np.flatnonzero(owner == k)]
    return tuple(problem.point_ids[i] for i in detached(graph, members, centre))


def _hours(day_s: np.ndarray) -> tuple[float, ...]:
    """Seconds per day as hours (2 decimals)."""
    return tuple(round(float(h) / 3600, 2) for h in day_s)
