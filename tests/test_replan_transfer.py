"""The transfer trips of a re-planned day follow the stations' new arrivals
(`sanitation.replan.transfer`): a broken-down truck's load that is not towed never reaches the
station, so its container leaves lighter; the trips made before ``t`` keep truck and times.

The tiny base plan (pyvrp, seed 1): D1/small_3t#1 unloads 2300 kg at S1 (P3, P5, P4, P1);
S1's hook-lift truck takes them in one container at 07:00. Re-planned at 08:10 with the small
truck down, the compactor serves P4 and P1 and unloads 900 kg; P3 and P5 (1400 kg) are lost.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sanitation.errors import InfeasibleError
from sanitation.plan.model import PlanDocument
from sanitation.replan.transfer import arrivals_kg
from tests.replan_helpers import SMALL, base_plan, replan

__all__ = ["base_plan"]  # the module fixture


def _day(folder: Path) -> dict:
    return json.loads((folder / "plan.json").read_text(encoding="utf-8"))["days"][0]


def _trips(day: dict) -> list[tuple[str, str, int, int]]:
    return sorted(
        (t["truck_id"], t["station_id"], t["load_kg"], t["start_s"])
        for truck in day["transfer_trucks"]
        for t in truck["trips"]
    )


def test_a_lost_load_lightens_the_station_s_transfer(base_plan, tmp_path, monkeypatch) -> None:
    old = _day(base_plan)
    assert _trips(old) == [("S1/hooklift_8t#1", "S1", 2300, 7 * 3600)]
    out = replan(base_plan, tmp_path, monkeypatch, [_down("08:10")], "08:10")
    new = _day(out)
    doc = PlanDocument.model_validate_json((out / "plan.json").read_text(encoding="utf-8"))
    assert arrivals_kg(doc.days[0]) == {"S1": 900}
    # the trip made at 07:00 stays (truck, times), carrying what now arrives
    assert _trips(new) == [("S1/hooklift_8t#1", "S1", 900, 7 * 3600)]
    assert new["unmoved"] == []
    assert new["gate_fees_cny"] == round(0.9 * 85, 2) < old["gate_fees_cny"]
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert diff["transfer_kg"] == [{"station_id": "S1", "old_kg": 2300, "new_kg": 900}]
    assert [(c["change"], c["load_kg"], c["start"]) for c in diff["transfer_changes"]] == [
        ("removed", 2300, "07:00"),
        ("added", 900, "07:00"),
    ]
    assert "S1 2300 → 900 kg" in (out / "diff.md").read_text(encoding="utf-8")
    kpis = json.loads((out / "plan.json").read_text(encoding="utf-8"))["kpis"]
    county = next(k for k in kpis if k["scope"] == "county")
    assert county["gate_fees_cny"] == new["gate_fees_cny"]


def test_unchanged_arrivals_keep_the_transfer(base_plan, tmp_path, monkeypatch) -> None:
    # P3 reported done: the same kg arrive, the trips stand as planned
    events = [{"type": "stop_done", "point": "P3", "time": "08:05"}]
    out = replan(base_plan, tmp_path, monkeypatch, events, "08:10")
    assert _day(out)["transfer_trucks"] == _day(base_plan)["transfer_trucks"]
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert diff["transfer_changes"] == [] and diff["transfer_kg"] == []


def _down(time: str) -> dict:
    return {"type": "truck_down", "vehicle": SMALL, "time": time}


def _trip(truck: str, station: str, arrival_s: int, end_s: int):
    from sanitation.transfer import Trip

    return Trip(truck, station, "W1", 1000, arrival_s, arrival_s, arrival_s + 1200, end_s)


def test_a_trip_is_kept_once_its_truck_set_out_for_it() -> None:
    from sanitation.replan.transfer import kept_count
    from sanitation.transfer import TruckDay

    trips = (_trip("T", "S1", 25_200, 27_880), _trip("T", "S1", 31_000, 33_000))
    day = TruckDay("T", 25_200, 33_600, trips, None, 1, 1.0)
    # it leaves its depot at 07:00 for the first, the first's end for the second
    assert [kept_count(day, 2700, at) for at in (25_200, 25_201, 27_880, 27_881)] == [0, 1, 1, 2]
    # a lunch between them: it sets out for the second when the lunch ends (27 880 + 2 700)
    lunch = TruckDay("T", 25_200, 33_600, trips, 27_880, 1, 1.0)
    assert [kept_count(lunch, 2700, at) for at in (28_000, 30_580, 30_581)] == [1, 1, 2]


def test_stations_sharing_a_truck_s_remaining_trips_are_replanned_together() -> None:
    from sanitation.replan.transfer import _replanned

    future = {
        "T1": [_trip("T1", "A", 30_000, 31_000), _trip("T1", "B", 32_000, 33_000)],
        "T2": [_trip("T2", "B", 30_000, 31_000)],
        "T3": [_trip("T3", "C", 30_000, 31_000)],
    }
    assert _replanned({"A"}, future) == ({"A", "B"}, {"T1", "T2"})
    assert _replanned({"C"}, future) == ({"C"}, {"T3"})


def test_the_rest_of_the_day_starts_each_truck_where_it_is() -> None:
    """A truck going on after its kept trips sets out from its last station and goes home to
    its depot; the site takes only what the kept trips left of its capacity; the rest passes
    the transfer verifier."""
    import numpy as np

    from sanitation.replan.transfer import _continuing, _rest_problem
    from sanitation.transfer import (
        DisposalSite,
        TransferProblem,
        TransferStation,
        TransferTruck,
        TruckDay,
    )
    from sanitation.transfer import solve as solve_transfer
    from sanitation.verify.transfer import verify

    # locations: 0 station A, 1 station B, 2 site, 3 depot (travel in s; metres = 10 x s)
    t = np.array(
        [[0, 600, 1200, 300], [600, 0, 900, 700], [1200, 900, 0, 1400], [300, 700, 1400, 0]]
    )
    stations = (
        TransferStation("A", 0, 0, 8000, 18_000, 68_400),
        TransferStation("B", 1, 0, 8000, 18_000, 68_400),
    )
    site = DisposalSite("W", 2, 10_000, 21_600, 79_200, 85.0, 900)
    truck = TransferTruck(
        "A/hook#1", "A", 3, 25_200, 68_400, 36_000, 2700, 41_400, 48_600, 420.0, 3.5, 50.0
    )
    full = TransferProblem(t, t * 10, stations, (site,), (truck,))
    kept = (_trip("A/hook#1", "B", 25_900, 30_000),)
    day = TruckDay("A/hook#1", 25_200, 30_700, kept, None, 1, 1.0)
    going_on = _continuing(truck, day, kept, 29_000)
    rest = _rest_problem(full, {"A": 5000}, {"W": 4000}, [], [going_on], 29_000)
    (moved,) = rest.trucks
    assert moved.location == 4 and moved.shift_start_s == 30_000  # free once back at B
    assert moved.fixed_cost_cny == 0.0 and moved.max_duration_s == 36_000 - (30_000 - 25_200)
    assert list(rest.duration_s[4, :4]) == list(t[1, :4])  # it sets out from B ...
    assert list(rest.duration_s[:4, 4]) == list(t[:4, 3])  # ... and goes home to the depot
    assert rest.sites[0].capacity_kg == 6000  # 4000 kg of the kept trip are at the site
    assert rest.station("A").load_kg == 5000 and rest.station("B").load_kg == 0
    solution = solve_transfer(rest)
    assert verify(rest, solution) == []
    (planned,) = solution.trucks
    assert planned.trips[0].arrival_s == 30_000 + 600  # B -> A
    assert planned.depot_return_s == planned.trips[-1].end_s + 300  # A -> depot
    assert sum(trip.load_kg for trip in planned.trips) == 5000
    # the site's capacity left binds: 7000 kg more do not fit beside the kept 4000
    more = _rest_problem(full, {"A": 7000}, {"W": 4000}, [], [going_on], 29_000)
    with pytest.raises(InfeasibleError, match=r"short by 1\.0 t"):
        solve_transfer(more)
