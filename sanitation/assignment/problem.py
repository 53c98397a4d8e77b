"""The station siting and point-to-station assignment problem (immutable, validated when built).

Units: demand and capacity in integer kg/day (the seasonal peak factor already applied), money in
CNY/day, travel time in integer seconds, distance in metres. ``n`` points, ``m`` stations; matrices
are ``(n, m)``: row = collection point, column = station.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

FREE = 0
"""Station status: the solver decides whether to open it."""
FORCED_OPEN = 1
"""Station status: must be open (an existing station that stays)."""
FORCED_CLOSED = 2
"""Station status: must stay closed (a closed or rejected site)."""

STATUS_CODES = {"free": FREE, "forced_open": FORCED_OPEN, "forced_closed": FORCED_CLOSED}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


def _unique_ids(name: str, ids: Sequence[object]) -> tuple[str, ...]:
    """``ids`` as strings; not empty, no repeats."""
    out = tuple(str(i) for i in ids)
    if not out:
        msg = f"{name} must not be empty."
        raise ValueError(msg)
    counts = Counter(out)
    if len(counts) != len(out):
        dup = next(i for i in out if counts[i] > 1)
        msg = f"{name} must be unique ({dup!r} repeats)."
        raise ValueError(msg)
    return out


def _as_int(name: str, values: object, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != shape:
        msg = f"{name} must have shape {shape}, got {array.shape}."
        raise ValueError(msg)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            msg = f"{name} must hold integers."
            raise ValueError(msg)
    elif array.dtype.kind not in "iub":
        msg = f"{name} must hold integers, got dtype {array.dtype}."
        raise ValueError(msg)
    return _frozen(array.astype(np.int64))


def _as_float(name: str, values: object, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != shape:
        msg = f"{name} must have shape {shape}, got {array.shape}."
        raise ValueError(msg)
    if not np.all(np.isfinite(array)):
        msg = f"{name} must be finite."
        raise ValueError(msg)
    return _frozen(array)


def _nonnegative(name: str, array: np.ndarray) -> None:
    if array.size and array.min() < 0:
        index = np.unravel_index(int(np.argmin(array)), array.shape)
        where = index[0] if len(index) == 1 else index
        msg = f"{name} must be >= 0 (index {where} is {array[index]})."
        raise ValueError(msg)


@dataclass(frozen=True, eq=False)
class AssignmentProblem:
    """Which stations to open or expand and which station serves each collection point.

    Build it with `build_problem` (computes costs from travel matrices) or directly from arrays;
    every field is checked when the object is created. A what-if is ``problem.replace(...)``.

    Parameters
    ----------
    point_ids, station_ids
        Stable string ids, used in messages and outputs.
    demand_kg
        ``(n,)`` integer kg/day of each point, seasonal peak factor included.
    capacity_kg
        ``(m,)`` integer kg/day a station handles without expansion modules.
    fixed_cost_cny
        ``(m,)`` CNY/day of keeping a station open (amortised opening cost for candidates).
    collection_cost_cny
        ``(n, m)`` CNY/day of collecting all of a point's demand into a station.
    transfer_cost_cny, gate_fee_cny
        ``(n, m)`` CNY/day of hauling a point's demand from the station to disposal, and the gate
        fee of that tonnage; zeros when omitted. The assignment cost is the sum of the three.
    travel_s
        ``(n, m)`` integer travel time point to station in seconds (reported, not optimised).
    allowed
        ``(n, m)`` feasibility mask: travel limit and accessibility for at least one vehicle class.
    status
        ``(m,)`` `FREE`, `FORCED_OPEN` or `FORCED_CLOSED`.
    expansion_capacity_kg, expansion_cost_cny, expansion_max
        ``(m,)`` per station: the capacity kg/day and cost CNY/day of one expansion module and the
        largest number of modules; zeros (no expansion) when omitted. Modules need an open station.
    group
        ``(n,)`` integer group (village) of each point, for ``keep_groups_together``.
    township, station_township, township_penalty_cny_per_t
        Optional soft preference: each tonne/day a point sends to a station of another township
        costs ``township_penalty_cny_per_t`` CNY/day.
    single_source
        Each point goes to exactly one station (True) or may split its demand (False).
    keep_groups_together
        All points of a group go to the same station.
    """

    point_ids: tuple[str, ...]
    station_ids: tuple[str, ...]
    demand_kg: np.ndarray
    capacity_kg: np.ndarray
    fixed_cost_cny: np.ndarray
    collection_cost_cny: np.ndarray
    travel_s: np.ndarray
    allowed: np.ndarray
    status: np.ndarray | None = None
    transfer_cost_cny: np.ndarray | None = None
    gate_fee_cny: np.ndarray | None = None
    expansion_capacity_kg: np.ndarray | None = None
    expansion_cost_cny: np.ndarray | None = None
    expansion_max: np.ndarray | None = None
    group: np.ndarray | None = None
    township: np.ndarray | None = None
    station_township: np.ndarray | None = None
    township_penalty_cny_per_t: float = 0.0
    single_source: bool = True
    keep_groups_together: bool = False

    def __post_init__(self) -> None:
        point_ids = _unique_ids("point_ids", self.point_ids)
        station_ids = _unique_ids("station_ids", self.station_ids)
        self._set("point_ids", point_ids)
        self._set("station_ids", station_ids)
        n, m = len(point_ids), len(station_ids)
        self._check_matrices(n, m)
        self._check_status(station_ids)
        self._check_expansion(station_ids)
        self._set(
            "group", _as_int("group", np.arange(n) if self.group is None else self.group, (n,))
        )
        if self.keep_groups_together and not self.single_source:
            msg = "keep_groups_together requires single_source."
            raise ValueError(msg)
        self._check_township(n, m)
        self._set("single_source", bool(self.single_source))
        self._set("keep_groups_together", bool(self.keep_groups_together))

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)

    def _check_matrices(self, n: int, m: int) -> None:
        ints = {
            "demand_kg": (self.demand_kg, (n,)),
            "capacity_kg": (self.capacity_kg, (m,)),
            "travel_s": (self.travel_s, (n, m)),
        }
        for name, (values, shape) in ints.items():
            array = _as_int(name, values, shape)
            _nonnegative(name, array)
            self._set(name, array)
        for name, shape in (("fixed_cost_cny", (m,)), ("collection_cost_cny", (n, m))):
            array = _as_float(name, getattr(self, name), shape)
            _nonnegative(name, array)
            self._set(name, array)
        for name in ("transfer_cost_cny", "gate_fee_cny"):
            values = getattr(self, name)
            array = np.zeros((n, m)) if values is None else _as_float(name, values, (n, m))
            _nonnegative(name, array)
            self._set(name, _frozen(array))
        allowed = np.asarray(self.allowed)
        if allowed.shape != (n, m) or allowed.dtype != np.bool_:
            msg = f"allowed must be a boolean array of shape {(n, m)}."
            raise ValueError(msg)
        self._set("allowed", _frozen(allowed))

    def _check_status(self, station_ids: tuple[str, ...]) -> None:
        m = len(station_ids)
        status = _as_int("status", np.full(m, FREE) if self.status is None else self.status, (m,))
        bad = np.flatnonzero(~np.isin(status, list(STATUS_NAMES)))
        if bad.size:
            msg = f"status of station {station_ids[bad[0]]!r} must be 0, 1 or 2 (free, "
            msg += f"forced_open, forced_closed), got {status[bad[0]]}."
            raise ValueError(msg)
        self._set("status", status)

    def _check_expansion(self, station_ids: tuple[str, ...]) -> None:
        m = len(station_ids)
        arrays = {}
        for name in ("expansion_capacity_kg", "expansion_max"):
            values = getattr(self, name)
            arrays[name] = _as_int(name, np.zeros(m, int) if values is None else values, (m,))
            _nonnegative(name, arrays[name])
            self._set(name, arrays[name])
        values = self.expansion_cost_cny
        array = _as_float("expansion_cost_cny", np.zeros(m) if values is None else values, (m,))
        _nonnegative("expansion_cost_cny", array)
        self._set("expansion_cost_cny", array)
        no_module = (arrays["expansion_max"] > 0) & (arrays["expansion_capacity_kg"] == 0)
        if no_module.any():
            station = station_ids[int(np.flatnonzero(no_module)[0])]
            msg = (
                f"expansion_capacity_kg of station {station!r} must be > 0 when expansion_max > 0."
            )
            raise ValueError(msg)

    def _check_township(self, n: int, m: int) -> None:
        if (self.township is None) != (self.station_township is None):
            msg = "township and station_township must be given together."
            raise ValueError(msg)
        if self.township is not None:
            self._set("township", _as_int("township", self.township, (n,)))
            self._set("station_township", _as_int("station_township", self.station_township, (m,)))
        penalty = float(self.township_penalty_cny_per_t)
        if not np.isfinite(penalty) or penalty < 0:
            msg = f"township_penalty_cny_per_t must be finite and >= 0, got {penalty}."
            raise ValueError(msg)
        if penalty > 0 and self.township is None:
            msg = "township_penalty_cny_per_t needs township and station_township."
            raise ValueError(msg)
        self._set("township_penalty_cny_per_t", penalty)

    # ------------------------------------------------------------------ derived data
    @property
    def num_points(self) -> int:
        """Number of collection points ``n``."""
        return len(self.point_ids)

    @property
    def num_stations(self) -> int:
        """Number of stations ``m``."""
        return len(self.station_ids)

    @cached_property
    def preference_cost_cny(self) -> np.ndarray:
        """``(n, m)`` CNY/day of the soft township preference (zero inside the own township)."""
        n, m = self.num_points, self.num_stations
        if (
            self.township is None
            or self.station_township is None
            or self.township_penalty_cny_per_t == 0
        ):
            return _frozen(np.zeros((n, m)))
        other = self.township[:, None] != self.station_township[None, :]
        tonnes = self.demand_kg.astype(float) / 1000.0
        return _frozen(other * tonnes[:, None] * self.township_penalty_cny_per_t)

    @cached_property
    def assign_cost_cny(self) -> np.ndarray:
        """``(n, m)`` CNY/day of serving a whole point from a station: collection + transfer +
        gate fee + township preference."""
        total = (
            self.collection_cost_cny
            + self.transfer_cost_cny
            + self.gate_fee_cny
            + self.preference_cost_cny
        )
        return _frozen(total)

    @cached_property
    def usable(self) -> np.ndarray:
        """``(n, m)`` mask of pairs the solver may use: allowed, station not forced closed."""
        closed = np.asarray(self.status) == FORCED_CLOSED
        return _frozen(self.allowed & ~closed[None, :])

    def replace(self, **changes: Any) -> AssignmentProblem:
        """A validated copy with some fields changed (a what-if)."""
        return dataclasses.replace(self, **changes)


def status_codes(status: Sequence[str] | np.ndarray) -> np.ndarray:
    """Station status codes from names ``free`` / ``forced_open`` / ``forced_closed``."""
    codes = []
    for index, value in enumerate(status):
        if isinstance(value, str):
            if value not in STATUS_CODES:
                msg = f"status[{index}] must be one of {sorted(STATUS_CODES)}, got {value!r}."
                raise ValueError(msg)
            codes.append(STATUS_CODES[value])
        else:
            codes.append(int(value))
    return np.asarray(codes, dtype=np.int64)
