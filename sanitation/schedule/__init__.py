"""Which collection points are due on which day of a week, and how much each visit collects.

Each point gets a weekly visiting pattern that matches its collection frequency:

- ``daily``: every day;
- ``every_2_days``: four visits a week, two days apart with one one-day gap (7 rotations);
- ``twice_weekly``: two visits three and four days apart (7 rotations);
- ``weekly``: one visit (7 choices).

A visit on day ``d`` collects the waste generated since the previous visit (days ``prev .. d-1``,
cyclically over the week, with the seasonal multiplier of each day). A bin never overflows: a
pattern is allowed only if every visit's accumulated waste fits the bin. When no pattern of the
declared frequency fits, the next more frequent one is used and the change is reported.

In a county that sorts its waste each (point, stream) is scheduled on its own, with the
stream's bin and frequency (a perishable stream daily by default): its ``point_id`` is then the
stop id ``point@stream`` (`sanitation.scenario.model.stop_id`), so no stream's bin overflows.

Among the allowed patterns, CP-SAT balances each station's week, one model per station (a change
at one station leaves the other stations' days as they were): it minimises the station's largest
daily tonnage, then its largest daily number of stops (a proxy for truck hours).

A what-if is scheduled against its base's week (``reference``, a `WeekSchedule` of the same
``week_start``): a point whose base pattern is still allowed for it keeps that pattern, at
whichever station it now is, so a household's days do not move because something changed
elsewhere; only new points and points whose base pattern no longer fits (a fuller bin, a changed
frequency) are placed, and the station's model balances them around the kept points' loads
(`ReferenceUse` counts both).

Each station's model starts from a greedy hint (largest points first, each on the pattern whose
days are least loaded so far) and is bounded by deterministic time, so a seed gives the same
schedule every run; if the search finds nothing within that time (very large counties) the
greedy start is used. Masses are integer kilograms inside.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from sanitation.errors import InfeasibleError

DAYS = 7
#: CP-SAT deterministic time (about seconds) per point of a station for balancing its week:
#: ~2 for a county of 1,000 points, as the one county-wide model had (assumed; measured on
#: Wangjiang: the per-station models then take ~5 s in all, as the county-wide one did)
DETERMINISTIC_TIME_S_PER_POINT = 0.002
FREQUENCY_ORDER = ("weekly", "twice_weekly", "every_2_days", "daily")


def _rotations(base: Sequence[int]) -> list[tuple[int, ...]]:
    patterns = {tuple(sorted((d + k) % DAYS for d in base)) for k in range(DAYS)}
    return sorted(patterns)


PATTERNS: dict[str, list[tuple[int, ...]]] = {
    "daily": [tuple(range(DAYS))],
    "every_2_days": _rotations((0, 2, 4, 6)),
    "twice_weekly": _rotations((0, 3)),
    "weekly": [(d,) for d in range(DAYS)],
}


@dataclass(frozen=True)
class SchedulePoint:
    """A point to schedule: its station, bin and the waste it generates each day of the week.

    ``generation_kg[d]`` is the waste generated on weekday ``d`` (0 = Monday), seasonal
    multipliers included. ``stream``: the sorted stream of this bin (``""``: unsorted); then
    ``point_id`` is the point's stop id of that stream.
    """

    point_id: str
    station_id: str
    frequency: str
    bin_capacity_kg: int
    generation_kg: tuple[int, ...]
    stream: str = ""

    def __post_init__(self) -> None:
        if self.frequency not in PATTERNS:
            msg = f"SchedulePoint {self.point_id!r}: unknown frequency {self.frequency!r}."
            raise ValueError(msg)
        if len(self.generation_kg) != DAYS:
            msg = f"SchedulePoint {self.point_id!r}: generation_kg needs {DAYS} values."
            raise ValueError(msg)
        if self.bin_capacity_kg <= 0 or min(self.generation_kg) < 0:
            msg = f"SchedulePoint {self.point_id!r}: bin capacity must be > 0, generation >= 0."
            raise ValueError(msg)


def visit_loads(pattern: Sequence[int], generation_kg: Sequence[int]) -> dict[int, int]:
    """Weekday → kg collected on that visit (waste since the previous visit, cyclic)."""
    loads = {}
    days = sorted(pattern)
    for index, day in enumerate(days):
        previous = days[index - 1] if index else days[-1] - DAYS
        loads[day] = sum(generation_kg[k % DAYS] for k in range(previous, day))
    return loads


@dataclass(frozen=True)
class FrequencyChange:
    """A point whose declared frequency would overflow its bin, and what was used instead."""

    point_id: str
    declared: str
    used: str
    reason: str


@dataclass(frozen=True)
class ReferenceUse:
    """How a schedule used its reference week (a base plan's schedule).

    ``kept``: points on their reference pattern; ``new``: points the reference does not have;
    ``replaced``: points whose reference pattern is no longer allowed (placed afresh);
    ``ignored``: why the whole reference was left unused (None: it was used).
    """

    kept: int
    new: int
    replaced: int
    ignored: str | None = None

    @property
    def note(self) -> str:
        """The plan-notes line."""
        if self.ignored is not None:
            return f"weekly schedule: the base's visiting days were not used ({self.ignored})"
        placed = self.new + self.replaced
        return (
            f"weekly schedule: {self.kept} points kept their base days, {placed} placed "
            f"({self.new} new, {self.replaced} whose base days no longer fit their bin "
            "or frequency)"
        )


@dataclass(frozen=True)
class WeekSchedule:
    """Visiting days and loads for one week.

    ``visits[point_id]`` maps weekday (0 = Monday) → kg collected on that visit.
    ``station_day_kg[station_id][d]`` and ``station_day_stops[station_id][d]`` are the daily totals.
    ``reference``: how the base's week was used (None: scheduled without one).
    """

    week_start: dt.date
    visits: Mapping[str, Mapping[int, int]]
    frequency_used: Mapping[str, str]
    changes: tuple[FrequencyChange, ...]
    station_day_kg: Mapping[str, tuple[int, ...]]
    station_day_stops: Mapping[str, tuple[int, ...]]
    optimal: bool
    stats: dict[str, float] = field(default_factory=dict)
    reference: ReferenceUse | None = None

    def due_on(self, day: dt.date) -> dict[str, int]:
        """Points due on ``day`` (a date in this week) → kg to collect."""
        offset = (day - self.week_start).days
        if not 0 <= offset < DAYS:
            msg = f"{day} is not in the week starting {self.week_start}"
            raise ValueError(msg)
        return {p: loads[offset] for p, loads in self.visits.items() if offset in loads}


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())


def schedule_week(
    points: Sequence[SchedulePoint],
    start: dt.date,
    *,
    seed: int = 1,
    deterministic_time_s_per_point: float = DETERMINISTIC_TIME_S_PER_POINT,
    reference: WeekSchedule | None = None,
    memo: StationMemo | None = None,
) -> WeekSchedule:
    """Choose a visiting pattern for every point; balance each station's week (``seed`` and
    ``deterministic_time_s_per_point`` × the station's points bound each station's search, so
    its budget depends on that station alone).

    Parameters
    ----------
    reference
        The base's week (a what-if's): each point whose pattern there is still allowed keeps
        it; used only when its ``week_start`` is ``start`` (else ignored, as the result's
        ``reference`` says).
    memo
        Each station's balanced week by everything it depends on (its points, their allowed
        patterns, ``seed``, the budget): a station found there is not solved again (e.g. the
        plan's week after its design day's, where the siting moved points between a few
        stations only), and one solved here is added. The schedule is the same either way.

    Raises
    ------
    InfeasibleError
        When even a daily visit overflows a bin (names the points, their daily waste and bins).
    """
    allowed, used, changes = _allowed_patterns(points)
    use = None
    if reference is not None:
        allowed, use = _keep_reference(allowed, reference, start)
    by_station: dict[str, list[SchedulePoint]] = defaultdict(list)
    for point in points:
        by_station[point.station_id].append(point)
    visits: dict[str, dict[int, int]] = {}
    optimal, greedy_used, seconds, objective = True, False, 0.0, 0.0
    for station in sorted(by_station):
        members = tuple(by_station[station])
        patterns = tuple(tuple(allowed[p.point_id]) for p in members)
        key = (members, patterns, seed, deterministic_time_s_per_point)
        found = memo.get(key) if memo is not None else None
        if found is None:
            found = _schedule_station(
                members,
                allowed,
                seed=seed,
                deterministic_time_s=deterministic_time_s_per_point * len(members),
            )
            if memo is not None:
                memo[key] = found
        chosen, solve = found
        optimal = optimal and solve.optimal
        greedy_used = greedy_used or solve.greedy
        seconds += solve.seconds
        objective += solve.objective
        for point in by_station[station]:
            pattern = allowed[point.point_id][chosen.get(point.point_id, 0)]
            visits[point.point_id] = visit_loads(pattern, point.generation_kg)
    visits = {p.point_id: visits[p.point_id] for p in points}
    stations = sorted({p.station_id for p in points})
    station_kg: dict[str, list[int]] = {s: [0] * DAYS for s in stations}
    station_stops: dict[str, list[int]] = {s: [0] * DAYS for s in stations}
    for point in points:
        for day, kg in visits[point.point_id].items():
            station_kg[point.station_id][day] += kg
            station_stops[point.station_id][day] += 1
    return WeekSchedule(
        week_start=start,
        visits=visits,
        frequency_used=used,
        changes=tuple(changes),
        station_day_kg={s: tuple(v) for s, v in station_kg.items()},
        station_day_stops={s: tuple(v) for s, v in station_stops.items()},
        optimal=optimal,
        stats={
            "seconds": seconds,
            "objective": objective if not greedy_used else float("nan"),
            "greedy": float(greedy_used),
        },
        reference=use,
    )


def _keep_reference(
    allowed: Mapping[str, list[tuple[int, ...]]], reference: WeekSchedule, start: dt.date
) -> tuple[dict[str, list[tuple[int, ...]]], ReferenceUse]:
    """``allowed`` with each point whose reference pattern is among its allowed ones narrowed
    to that pattern (the one home of the keep-the-base's-days rule), and the counts."""
    if reference.week_start != start:
        ignored = f"the base's week starts {reference.week_start}, this one {start}"
        return dict(allowed), ReferenceUse(kept=0, new=0, replaced=0, ignored=ignored)
    narrowed: dict[str, list[tuple[int, ...]]] = {}
    kept = new = 0
    for point_id, patterns in allowed.items():
        loads = reference.visits.get(point_id)
        base = tuple(sorted(loads)) if loads is not None else None
        if base is not None and base in patterns:
            narrowed[point_id] = [base]
            kept += 1
        else:
            narrowed[point_id] = patterns
            new += base is None
    return narrowed, ReferenceUse(kept=kept, new=new, replaced=len(allowed) - kept - new)


@dataclass(frozen=True)
class _StationSolve:
    optimal: bool
    greedy: bool
    seconds: float
    objective: float


#: `schedule_week`'s memo: a station's inputs → its pattern choices and solve
StationMemo = dict[
    tuple[tuple[SchedulePoint, ...], tuple[tuple[tuple[int, ...], ...], ...], int, float],
    tuple[dict[str, int], _StationSolve],
]


def _schedule_station(
    points: Sequence[SchedulePoint],
    allowed: Mapping[str, list[tuple[int, ...]]],
    *,
    seed: int,
    deterministic_time_s: float,
) -> tuple[dict[str, int], _StationSolve]:
    """The pattern index of each point of one station that has a choice, balancing that
    station's week alone (stations share nothing, so a change at one station leaves the others'
    schedules as they were)."""
    model = cp_model.CpModel()
    choice, fixed_kg = _add_week_model(model, points, allowed)
    greedy = _add_greedy_hint(model, points, allowed, choice, fixed_kg)
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = deterministic_time_s
    status = solver.solve(model)
    solved = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    # every pattern left is feasible, so the greedy start is a valid schedule when the search
    # runs out of (deterministic) time before its first solution on very large stations
    chosen = {
        point.point_id: next(
            j
            for j in range(len(allowed[point.point_id]))
            if solver.value(choice[(point.point_id, j)])
        )
        if solved
        else greedy[point.point_id]
        for point in points
        if len(allowed[point.point_id]) > 1
    }
    return chosen, _StationSolve(
        optimal=status == cp_model.OPTIMAL,
        greedy=not solved,
        seconds=solver.wall_time,
        objective=solver.objective_value if solved else 0.0,
    )


def _allowed_patterns(
    points: Sequence[SchedulePoint],
) -> tuple[dict[str, list[tuple[int, ...]]], dict[str, str], list[FrequencyChange]]:
    """Per point, the patterns of the least frequent frequency (declared or more frequent)
    whose visits never overflow its bin; the frequency used; the changes from the declared one.

    Raises
    ------
    InfeasibleError
        When even a daily visit overflows a bin.
    """
    allowed: dict[str, list[tuple[int, ...]]] = {}
    used: dict[str, str] = {}
    changes: list[FrequencyChange] = []
    overflowing: list[str] = []
    for point in points:
        start_rank = FREQUENCY_ORDER.index(point.frequency)
        for frequency in FREQUENCY_ORDER[start_rank:]:
            fits = [
                pattern
                for pattern in PATTERNS[frequency]
                if max(visit_loads(pattern, point.generation_kg).values()) <= point.bin_capacity_kg
            ]
            if fits:
                allowed[point.point_id] = fits
                used[point.point_id] = frequency
                if frequency != point.frequency:
                    changes.append(
                        FrequencyChange(
                            point.point_id,
                            point.frequency,
                            frequency,
                            f"bin {point.bin_capacity_kg} kg overflows between "
                            f"{point.frequency} visits (up to "
                            f"{max(point.generation_kg) * _max_gap(point.frequency)} kg)",
                        )
                    )
                break
        else:
            bin_of = f"its {point.stream!r} bin" if point.stream else "its bin"
            overflowing.append(
                f"point {point.point_id!r}: {max(point.generation_kg)} kg/day exceeds {bin_of} "
                f"of {point.bin_capacity_kg} kg even with daily collection"
            )
    if overflowing:
        msg = f"{len(overflowing)} bin(s) overflow even with daily collection"
        raise InfeasibleError(msg, [msg, *overflowing])
    return allowed, used, changes


def _add_week_model(
    model: cp_model.CpModel,
    points: Sequence[SchedulePoint],
    allowed: Mapping[str, list[tuple[int, ...]]],
) -> tuple[dict[tuple[str, int], cp_model.IntVar], dict[str, list[int]]]:
    """One Boolean per (point, allowed pattern) and the objective: every station's daily kg
    peak, then (to break ties) its daily stop peak.

    Returns the choice variables and, per station, the daily kg of points with one pattern.
    """
    choice: dict[tuple[str, int], cp_model.IntVar] = {}
    day_kg: dict[str, list[list[tuple[cp_model.IntVar, int]]]] = defaultdict(
        lambda: [[] for _ in range(DAYS)]
    )
    fixed_kg: dict[str, list[int]] = defaultdict(lambda: [0] * DAYS)
    fixed_stops: dict[str, list[int]] = defaultdict(lambda: [0] * DAYS)
    day_stops: dict[str, list[list[cp_model.IntVar]]] = defaultdict(
        lambda: [[] for _ in range(DAYS)]
    )
    for point in points:
        patterns = allowed[point.point_id]
        station = point.station_id
        if len(patterns) == 1:
            for day, kg in visit_loads(patterns[0], point.generation_kg).items():
                fixed_kg[station][day] += kg
                fixed_stops[station][day] += 1
            continue
        variables = []
        for j, pattern in enumerate(patterns):
            var = model.new_bool_var(f"x[{point.point_id},{j}]")
            choice[(point.point_id, j)] = var
            variables.append(var)
            for day, kg in visit_loads(pattern, point.generation_kg).items():
                day_kg[station][day].append((var, kg))
                day_stops[station][day].append(var)
        model.add_exactly_one(variables)
    peak_kg_terms = []
    peak_stop_terms = []
    week_kg: dict[str, int] = defaultdict(int)
    week_stops: dict[str, int] = defaultdict(int)
    for point in points:  # every pattern collects the whole week's waste
        week_kg[point.station_id] += sum(point.generation_kg)
        week_stops[point.station_id] += len(allowed[point.point_id][0])
    for station in sorted({p.station_id for p in points}):
        peak = model.new_int_var(0, max(week_kg[station], 1), f"peak_kg[{station}]")
        peak_stops = model.new_int_var(0, week_stops[station], f"peak_stops[{station}]")
        # the average day bounds the peak: lets the search prove optimality
        model.add(peak * DAYS >= week_kg[station])
        model.add(peak_stops * DAYS >= week_stops[station])
        for day in range(DAYS):
            model.add(
                peak >= fixed_kg[station][day] + sum(kg * var for var, kg in day_kg[station][day])
            )
            model.add(peak_stops >= fixed_stops[station][day] + sum(day_stops[station][day]))
        peak_kg_terms.append(peak)
        peak_stop_terms.append(peak_stops)
    # kilograms first: the stop peaks (at most n) only break ties between equal kg peaks
    model.minimize(sum(peak_kg_terms) * (len(points) + 1) + sum(peak_stop_terms))
    return choice, fixed_kg


def _max_gap(frequency: str) -> int:
    pattern = PATTERNS[frequency][0]
    days = sorted(pattern)
    return max((days[i] - days[i - 1]) % DAYS or DAYS for i in range(len(days)))


def _add_greedy_hint(
    model: cp_model.CpModel,
    points: Sequence[SchedulePoint],
    allowed: Mapping[str, list[tuple[int, ...]]],
    choice: Mapping[tuple[str, int], cp_model.IntVar],
    fixed_kg: Mapping[str, list[int]],
) -> dict[str, int]:
    """Hint a balanced start: biggest points first, each on its least-loaded allowed pattern.

    Returns the pattern index chosen for each point with a choice.
    """
    chosen: dict[str, int] = {}
    load: dict[str, list[int]] = {s: list(v) for s, v in fixed_kg.items()}
    flexible = [p for p in points if len(allowed[p.point_id]) > 1]
    for point in sorted(flexible, key=lambda p: -sum(p.generation_kg)):
        days = load.setdefault(point.station_id, [0] * DAYS)
        options = allowed[point.point_id]
        best = min(
            range(len(options)),
            key=lambda j: max(
                days[d] + kg for d, kg in visit_loads(options[j], point.generation_kg).items()
            ),
        )
        for day, kg in visit_loads(options[best], point.generation_kg).items():
            days[day] += kg
        for j in range(len(options)):
            model.add_hint(choice[(point.point_id, j)], j == best)
        chosen[point.point_id] = best
    return chosen
