"""Local search for single-source assignments: shift, swap, close and open moves.

Used to improve the greedy start before the exact engines run (their warm start). Stations
without expansion modules only; every move keeps capacity, the usable mask and forced statuses.
Each pass takes the best improving move of each kind, evaluated with numpy over all candidates:

- shift: move one unit to another station with room;
- swap: exchange the stations of two units;
- close: empty a station, sending each of its units to the cheapest station with room;
- open: open a closed station and move to it every unit that saves by it, while it has room.

`iterated` stops after a given amount of work, counted in matrix cells (deterministic), or at
its time limit (the hard cap), whichever comes first; it says which.
"""

from __future__ import annotations

import math
import time

import numpy as np

from sanitation.assignment.problem import FORCED_OPEN


def _cost(cost: np.ndarray, fixed: np.ndarray, forced: np.ndarray, station: np.ndarray) -> float:
    used = np.zeros(fixed.shape[0], dtype=bool)
    used[station] = True
    used |= forced
    return float(cost[np.arange(station.size), station].sum() + fixed[used].sum())


def improve(
    cost: np.ndarray,
    usable: np.ndarray,
    demand: np.ndarray,
    capacity: np.ndarray,
    fixed: np.ndarray,
    status: np.ndarray,
    station: np.ndarray,
    *,
    time_limit_s: float,
    max_passes: int | None = None,
) -> tuple[np.ndarray, float, bool, int]:
    """Improve a feasible single-source assignment ``station`` (u,) until no move helps, for at
    most ``max_passes`` passes (one move each), or until ``time_limit_s`` seconds have passed.

    Returns the new assignment, its cost (assignment + fixed cost of used or forced-open
    stations), whether the time limit stopped it and the passes made.
    """
    start = time.perf_counter()
    u, m = cost.shape
    forced = status == FORCED_OPEN
    station = station.copy()
    demand = demand.astype(np.int64)
    big = np.where(usable, cost, np.inf)
    rows = np.arange(u)
    load = np.bincount(station, weights=demand, minlength=m).astype(np.int64)
    count = np.bincount(station, minlength=m)
    clock, passes = False, 0
    while max_passes is None or passes < max_passes:
        if time.perf_counter() - start >= time_limit_s:
            clock = True
            break
        passes += 1
        improved = False
        current = big[rows, station]
        open_fee = np.where((count == 0) & ~forced, fixed, 0.0)
        # shift
        leaves = np.where((count[station] == 1) & ~forced[station], fixed[station], 0.0)
        delta = big - current[:, None] + open_fee[None, :] - leaves[:, None]
        fits = load[None, :] + demand[:, None] <= capacity[None, :]
        delta = np.where(fits, delta, np.inf)
        delta[rows, station] = np.inf
        j, k = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if delta[j, k] < -1e-9:
            i = station[j]
            load[i] -= demand[j]
            count[i] -= 1
            load[k] += demand[j]
            count[k] += 1
            station[j] = k
            continue
        # swap
        a = station
        cross = big[:, a]  # cross[j1, j2] = cost of j1 at j2's station
        delta = cross + cross.T - current[:, None] - current[None, :]
        room_a = capacity[a] - load[a]  # room at each unit's station
        ok = (demand[None, :] - demand[:, None] <= room_a[:, None]) & (
            demand[:, None] - demand[None, :] <= room_a[None, :]
        )
        delta = np.where(ok & (a[:, None] != a[None, :]), delta, np.inf)
        j1, j2 = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if delta[j1, j2] < -1e-9:
            i1, i2 = station[j1], station[j2]
            load[i1] += demand[j2] - demand[j1]
            load[i2] += demand[j1] - demand[j2]
            station[j1], station[j2] = i2, i1
            continue
        # close / open: try each station, keep the best
        best_station = _best_close_or_open(cost, big, capacity, demand, fixed, forced, station)
        if best_station is not None:
            station = best_station
            load = np.bincount(station, weights=demand, minlength=m).astype(np.int64)
            count = np.bincount(station, minlength=m)
            improved = True
        if not improved:
            break
    return station, _cost(cost, fixed, forced, station), clock, passes


def _best_close_or_open(
    cost: np.ndarray,
    big: np.ndarray,
    capacity: np.ndarray,
    demand: np.ndarray,
    fixed: np.ndarray,
    forced: np.ndarray,
    station: np.ndarray,
) -> np.ndarray | None:
    """The best assignment after closing one used station (its units go to the cheapest
    stations with room) or opening one unused station (units that save most move to it), or
    None when no such move lowers the cost."""
    m = cost.shape[1]
    rows = np.arange(station.size)
    current = big[rows, station]
    count = np.bincount(station, minlength=m)
    base = _cost(cost, fixed, forced, station)
    best_cost, best_station = base, None
    for i in range(m):
        trial = station.copy()
        room = capacity - np.bincount(trial, weights=demand, minlength=m)
        if count[i] > 0 and not forced[i]:
            members = np.flatnonzero(trial == i)
            room[i] = -1
            ok = True
            for j in members[np.argsort(-demand[members], kind="stable")]:
                choices = np.where((room >= demand[j]) & np.isfinite(big[j]), big[j], np.inf)
                target = int(np.argmin(choices))
                if not np.isfinite(choices[target]):
                    ok = False
                    break
                trial[j] = target
                room[target] -= demand[j]
            if not ok:
                continue
        elif count[i] == 0:
            saving = current - big[:, i]
            for j in np.argsort(-saving, kind="stable"):
                if saving[j] <= 0:
                    break
                if room[i] >= demand[j]:
                    room[trial[j]] += demand[j]
                    trial[j] = i
                    room[i] -= demand[j]
        else:
            continue
        value = _cost(cost, fixed, forced, trial)
        if value < best_cost - 1e-9:
            best_cost, best_station = value, trial
    return best_station


#: the work of a kick (moving units, checking room) in matrix cells, per unit (measured on
#: Wangjiang: a pass of `improve` 0.05 s for 1,065^2 cells, a kick 0.4 ms)
KICK_CELLS_PER_UNIT = 8


def iterated(
    cost: np.ndarray,
    usable: np.ndarray,
    demand: np.ndarray,
    capacity: np.ndarray,
    fixed: np.ndarray,
    status: np.ndarray,
    station: np.ndarray,
    *,
    time_limit_s: float,
    seed: int,
    max_cells: float | None = None,
    kick: int = 4,
    patience: int | None = None,
) -> tuple[np.ndarray, float, bool]:
    """Iterated local search: `improve`, then repeatedly move ``kick`` random units (or close
    a random open station) and `improve` again, keeping the best, for at most ``50 u + 100``
    kicks, stopping after ``patience`` (default ``2 u + 100``) kicks without a new best, or once
    its work reaches ``max_cells`` (a pass of `improve` counts ``u^2`` matrix cells, a kick
    `KICK_CELLS_PER_UNIT` x ``u``). Seeded and reproducible unless ``time_limit_s`` (the hard
    cap) stops it first.

    Returns the best assignment, its cost and whether the time limit stopped the search.
    """
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    args = (cost, usable, demand, capacity, fixed, status)
    u, m = cost.shape

    def passes_left(spent: float) -> int | None:
        return None if max_cells is None else max(0, math.floor((max_cells - spent) / u**2))

    best, best_value, clock, passes = improve(
        *args, station, time_limit_s=time_limit_s, max_passes=passes_left(0.0)
    )
    spent = float(passes * u**2)
    current, current_value = best, best_value
    demand = demand.astype(np.int64)
    stale = 0
    patience = 2 * u + 100 if patience is None else patience
    for _ in range(50 * u + 100):
        if clock or stale > patience or (max_cells is not None and spent >= max_cells):
            break
        if time.perf_counter() - start >= time_limit_s:
            clock = True
            break
        stale += 1
        spent += KICK_CELLS_PER_UNIT * u
        trial = current.copy()
        room = capacity - np.bincount(trial, weights=demand, minlength=m)
        members = np.zeros(0, dtype=np.int64)
        if rng.random() < 0.3:
            used = np.flatnonzero((np.bincount(trial, minlength=m) > 0) & (status != FORCED_OPEN))
            if used.size:
                i = int(rng.choice(used))
                room[i] = -1
                members = np.flatnonzero(trial == i)
        else:
            members = rng.choice(u, size=min(kick, u), replace=False)
        for j in members:
            choices = np.flatnonzero(usable[j] & (room >= demand[j]) & (np.arange(m) != trial[j]))
            if choices.size:
                k = int(rng.choice(choices))
                room[trial[j]] += demand[j]
                room[k] -= demand[j]
                trial[j] = k
        if np.any(room < 0) and room.min() != -1:
            continue
        left_s = max(0.0, time_limit_s - (time.perf_counter() - start))
        trial, value, clock, done = improve(
            *args, trial, time_limit_s=left_s, max_passes=passes_left(spent)
        )
        spent += done * u**2
        if clock:
            break  # a cut improvement is not kept: the result stays the last complete one
        if np.any(np.bincount(trial, weights=demand, minlength=m) > capacity):
            continue
        if value < current_value - 1e-9 or rng.random() < 0.05:
            current, current_value = trial, value
        if value < best_value - 1e-9:
            best, best_value, stale = trial, value, 0
    return best, best_value, clock
