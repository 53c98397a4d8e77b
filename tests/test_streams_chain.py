"""Sorted streams through the chain: station-day problems with a stop per (point, stream),
sites with their streams, trucks with compartments; KPIs by stream; route sheets; per-stream
capacity infeasibility; and a county that does not sort planned exactly as before.

The sorted plans end to end run the default engine (the portfolio).
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
from cli_helpers import run_cli
from openpyxl import load_workbook
from streams_helpers import week_problems

from sanitation.errors import InfeasibleError
from sanitation.io import sheets
from sanitation.plan import plan_days
from sanitation.plan.context import PlanningContext
from sanitation.plan.daily import build_station_day
from sanitation.plan.model import VisitOut
from sanitation.plan.streams import day_facilities
from sanitation.scenario.load import load_scenario

DATA = Path(__file__).parent / "data"
TINY = DATA / "scenario" / "tiny" / "scenario.yaml"
SORTED = DATA / "scenario" / "sorted" / "scenario.yaml"
SMALL_COMPARTMENTS = DATA / "scenario" / "sorted" / "small_compartments.yaml"
TOO_SMALL = DATA / "scenario" / "sorted" / "facility_too_small.yaml"
STATION_PERISHABLE = DATA / "scenario" / "sorted" / "station_takes_perishable.yaml"
OVERFLOW = DATA / "scenario" / "sorted" / "facility_overflow.yaml"
OVERFLOW_NOWHERE = DATA / "scenario" / "sorted" / "facility_overflow_nowhere.yaml"
MONDAY = dt.date(2026, 11, 30)


def _plan(path: Path):
    """The day planned as users plan it: the default engine (the portfolio; with two-compartment
    trucks whose streams go to different sites PyVRP leaves the stops out and OR-Tools wins)."""
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        return plan_days(load_scenario(path), [MONDAY], time_limit_s=2, executor=pool, workers=1)


@pytest.fixture(scope="module")
def sorted_plan():
    return _plan(SORTED)


@pytest.fixture(scope="module")
def binding_plan():
    return _plan(SMALL_COMPARTMENTS)


@pytest.fixture(scope="module")
def sorted_ctx():
    return PlanningContext.build(load_scenario(SORTED))


def test_a_county_that_does_not_sort_builds_todays_problems():
    # the golden file is main's output before streams (tests/streams_helpers.py, same call)
    golden = (DATA / "streams" / "tiny_week_problems.json").read_text(encoding="utf-8")
    assert week_problems(TINY, "S1", MONDAY) == golden.strip()


def test_an_unsorted_visit_writes_no_stream_fields():
    visit = VisitOut(
        order=1,
        kind="stop",
        id="P1",
        name="",
        lon=0.0,
        lat=0.0,
        arrival_s=0,
        start_s=0,
        departure_s=0,
        arrival="00:00",
        load_kg=1,
        load_after_kg=1,
    )
    assert "stream" not in visit.model_dump() and "stream" not in visit.model_dump_json()
    sorted_visit = visit.model_copy(update={"stream": "perishable"})
    assert json.loads(sorted_visit.model_dump_json())["stream"] == "perishable"


def test_a_sorted_station_day_has_a_stop_per_point_and_stream(sorted_ctx):
    due = {"P1@residual": 150, "P1@perishable": 200, "P4@recyclable": 420}
    fleet = {"small_3t": 1, "compactor_5t": 1}
    problem = build_station_day(sorted_ctx, "S1", due, fleet)
    stops = {s.id: s for s in problem.stops}
    assert {k: (s.stream, s.load_kg) for k, s in stops.items()} == {
        "P1@perishable": ("perishable", 200),
        "P1@residual": ("residual", 150),
        "P4@recyclable": ("recyclable", 420),
    }
    # one location per point: a point's streams share it
    assert stops["P1@residual"].location == stops["P1@perishable"].location
    assert stops["P4@recyclable"].location != stops["P1@residual"].location
    # recyclables ride only in the truck with a recyclables compartment
    assert stops["P4@recyclable"].allowed_vehicle_types == frozenset({"small_3t"})
    assert stops["P1@perishable"].allowed_vehicle_types == frozenset({"small_3t", "compactor_5t"})
    sites = {s.id: s.streams for s in problem.sites}
    assert sites == {
        "depot": None,
        "S1": frozenset({"residual"}),
        "F1": frozenset({"perishable"}),
        "R1": frozenset({"recyclable"}),
    }
    small = problem.vehicle_type("small_3t")
    compactor = problem.vehicle_type("compactor_5t")
    assert [(c.stream, c.capacity_kg) for c in small.compartments] == [
        ("residual", 1500),
        ("perishable", 1000),
        ("recyclable", 500),
    ]
    assert small.unload_sites == ("S1", "F1", "R1")
    assert compactor.unload_sites == ("S1", "F1")  # no recyclables compartment: no R1
    # the facilities' matrix rows are the road network's travel between the snapped places
    places = sorted_ctx.places
    for p, class_id in enumerate(sorted_ctx.classes):
        station_node = places.stations[class_id].node_ids[[0]]
        facility_node = places.facilities[class_id].node_ids[[0]]  # F1
        time_s, _ = sorted_ctx.matrix(class_id, station_node, facility_node)
        back_s, _ = sorted_ctx.matrix(class_id, facility_node, station_node)
        station, facility = problem.site("S1").location, problem.site("F1").location
        assert problem.duration_s[p][station, facility] == min(int(time_s[0, 0]), 10**7)
        assert problem.duration_s[p][facility, station] == min(int(back_s[0, 0]), 10**7)
        assert problem.duration_s[p][station, facility] > 0


def test_a_station_day_sees_only_the_facilities_serving_its_station(sorted_ctx):
    scenario = sorted_ctx.scenario
    f1, r1 = scenario.facilities
    only_s1 = scenario.replace(facilities=(replace(f1, station_ids=frozenset({"S1"})), r1))
    assert day_facilities(only_s1, "S1", {"perishable", "recyclable"}) == [
        only_s1.facilities[0],
        r1,
    ]
    assert day_facilities(only_s1, "S2", {"perishable", "recyclable"}) == [r1]
    assert day_facilities(only_s1, "S2", {"residual"}) == []


def test_kpis_split_by_stream_add_up_to_the_county(sorted_plan):
    rows = {(k.scope, k.id): k for k in sorted_plan.kpis}
    county = rows[("county", "county")]
    streams = [k for k in sorted_plan.kpis if k.scope == "stream"]
    assert [k.id for k in streams] == ["residual", "perishable", "recyclable"]
    assert [k.name for k in streams] == ["其他垃圾", "易腐垃圾", "可回收物"]
    assert sum(k.collected_t for k in streams) == pytest.approx(county.collected_t, abs=0.002)
    assert sum(k.points_served for k in streams) == county.points_served
    assert sum(k.distance_km for k in streams) == pytest.approx(county.distance_km, abs=0.02)
    assert sum(k.total_cost_cny for k in streams) == pytest.approx(county.total_cost_cny, abs=0.1)
    for row in [county, *streams]:
        assert row.cost_cny_per_t == pytest.approx(row.total_cost_cny / row.collected_t, rel=1e-3)
        assert row.diverted_share is not None and 0 <= row.diverted_share <= 1
    # a county that does not sort has neither stream rows nor the sorted columns
    assert all(k.scope != "stream" and k.cost_cny_per_t is None for k in _plan(TINY).kpis)


def test_route_sheets_show_each_stops_stream_and_compartments(sorted_plan, sorted_ctx, tmp_path):
    route = sorted_plan.days[0].routes[0]
    path = sheets.write_route_workbook(route, sorted_ctx, tmp_path / "route.xlsx")
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row[0] == "顺序 (order)")
    stream_col = rows[header].index("分类 (stream)")
    stops = [row for row in rows[header + 1 :] if row[1] == "收集点 stop"]
    names = {"residual": "其他垃圾", "perishable": "易腐垃圾", "recyclable": "可回收物"}
    assert [row[stream_col] for row in stops] == [
        names[v.stream] for v in route.visits if v.kind == "stop"
    ]
    assert any("分舱" in str(row[0]) for row in rows[:header])


def test_a_stream_beyond_its_sites_capacity_is_infeasible_naming_stream_and_site(monkeypatch):
    with pytest.raises(InfeasibleError) as caught:
        _plan(TOO_SMALL)
    assert any("stream 'perishable'" in c and "F1 0.5 t/day" in c for c in caught.value.causes)
    result = run_cli(["plan", str(TOO_SMALL), "--date", "2026-11-30", "--out", "x"], monkeypatch)
    assert result.code == 3, result.message
    assert "stream 'perishable'" in result.stderr and "F1" in result.stderr


# -- end to end: need the routing engines that honour streams ---------------------------------
def _unloads(plan):
    """(site id, {stream: kg unloaded}) of every unload visit of the plan."""
    out = []
    for route in plan.days[0].routes:
        before: dict[str, int] = {}
        for visit in route.visits:
            if visit.kind == "unload":
                after = visit.load_after_by_stream_kg
                dropped = {s: kg - after.get(s, 0) for s, kg in before.items()}
                out.append((visit.id, {s: kg for s, kg in dropped.items() if kg > 0}))
            before = visit.load_after_by_stream_kg
    return out


def test_sorted_plan_stream_loads_match_the_truck_load(sorted_plan):
    for route in sorted_plan.days[0].routes:
        for visit in route.visits:
            assert sum(visit.load_after_by_stream_kg.values()) == visit.load_after_kg


def test_sorted_plan_unloads_each_stream_where_it_is_accepted(sorted_plan):
    accepts = {"S1": {"residual"}, "F1": {"perishable"}, "R1": {"recyclable"}}
    unloads = _unloads(sorted_plan)
    assert all(set(dropped) <= accepts[site] for site, dropped in unloads), unloads
    assert {site for site, dropped in unloads if dropped} == {"S1", "F1", "R1"}
    rows = {k.id: k for k in sorted_plan.kpis if k.scope == "stream"}
    assert rows["perishable"].diverted_share == 1.0
    assert rows["residual"].diverted_share == 0.0


def test_sorted_plan_transfers_only_what_the_stations_received(sorted_plan):
    (day,) = sorted_plan.days
    residual = sum(v.load_kg for r in day.routes for v in r.visits if v.stream == "residual")
    moved = sum(t.load_kg for truck in day.transfer_trucks for t in truck.trips)
    assert moved + sum(u.load_kg for u in day.unmoved) == residual


def test_sorted_plan_a_full_compartment_forces_an_unload_at_its_facility(binding_plan):
    capacity = {"small_3t": 500, "compactor_5t": 500}  # perishable compartments, kg
    perishable_kg = 0
    for route in binding_plan.days[0].routes:
        for visit in route.visits:
            assert (
                visit.load_after_by_stream_kg.get("perishable", 0) <= capacity[route.vehicle_type]
            )
            perishable_kg += visit.load_kg if visit.stream == "perishable" else 0
    assert perishable_kg > 500  # more than one compartment holds: the capacity binds
    assert sum(site == "F1" for site, _ in _unloads(binding_plan)) >= 2
    assert not binding_plan.days[0].unserved


def test_a_sorted_plan_is_refused_for_re_planning_naming_the_streams(
    sorted_plan, tmp_path, monkeypatch
):
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    doc = sorted_plan.model_copy(update={"scenario_path": str(SORTED.resolve())})
    (plan_dir / "plan.json").write_text(doc.model_dump_json(), encoding="utf-8")
    events = tmp_path / "events.yaml"
    events.write_text("events: []\n", encoding="utf-8")
    args = ["replan", str(plan_dir), "--events", str(events), "--at", "10:00"]
    result = run_cli([*args, "--out", str(tmp_path / "new")], monkeypatch)
    assert result.code == 2, result.message
    assert "field 'streams'" in result.stderr and "not supported yet" in result.stderr
    assert not (tmp_path / "new").exists()


# -- transfer trips by stream, and a facility over its capacity -----------------------------------
def _transfer_by_stream_oracle(day, per_km, per_h):
    """CNY per stream of the day's hook-lift trucks: each trip's own km and hours at the truck's
    rates, the rest of the truck's day by the trips' own hours (docs/streams.md, KPIs)."""
    out: dict[str, float] = {}
    for truck in day.transfer_trucks:
        own = [(t, t.distance_m / 1000, (t.end_s - t.start_s) / 3600) for t in truck.trips]
        own_cny = sum(per_km * km + per_h * h for _, km, h in own)
        own_h = sum(h for _, _, h in own)
        for trip, km, h in own:
            rest = (truck.cost_cny - own_cny) * h / own_h
            out[trip.stream] = out.get(trip.stream, 0.0) + per_km * km + per_h * h + rest
    return out


def test_stream_rows_carry_their_own_transfer_trips_and_gate_fees():
    # S1 sends residual 10 km to the incinerator W1 (85 CNY/t) and perishable 0.5 km to the
    # composting station F1 (40 CNY/t): the trips, not the kg at S1, set the streams' shares
    doc = _plan(STATION_PERISHABLE)
    (day,) = doc.days
    trips = [t for truck in day.transfer_trucks for t in truck.trips]
    assert {(t.stream, t.site_id) for t in trips} == {("residual", "W1"), ("perishable", "F1")}
    rows = {k.id: k for k in doc.kpis if k.scope == "stream"}
    county = next(k for k in doc.kpis if k.scope == "county")
    hooklift = next(
        v for v in load_scenario(STATION_PERISHABLE).vehicle_types if v.role == "transfer"
    )
    expected = _transfer_by_stream_oracle(day, hooklift.cost_per_km_cny, hooklift.cost_per_hour_cny)
    for stream in ("residual", "perishable"):
        assert rows[stream].transfer_cost_cny == pytest.approx(expected[stream], abs=0.02)
    trip_gate = {
        s: sum(t.load_kg / 1000 * {"W1": 85, "F1": 40}[t.site_id] for t in trips if t.stream == s)
        for s in ("residual", "perishable")
    }
    direct_f1 = sum(d.get("perishable", 0) for site, d in _unloads(doc) if site == "F1")
    assert rows["residual"].gate_fees_cny == pytest.approx(trip_gate["residual"], abs=0.01)
    assert rows["perishable"].gate_fees_cny == pytest.approx(
        trip_gate["perishable"] + direct_f1 / 1000 * 40, abs=0.01
    )
    # by the kg each stream unloaded at S1 (the rule before) the shares would differ
    at_s1 = {s: sum(d.get(s, 0) for site, d in _unloads(doc) if site == "S1") for s in expected}
    by_kg = {s: kg / sum(at_s1.values()) for s, kg in at_s1.items()}
    transfer_cny = sum(truck.cost_cny for truck in day.transfer_trucks)
    assert abs(transfer_cny * by_kg["perishable"] - expected["perishable"]) > 50
    assert abs(sum(trip_gate.values()) * by_kg["residual"] - trip_gate["residual"]) > 10
    # the county is still the sum of its streams
    streams = [k for k in doc.kpis if k.scope == "stream"]
    for name in (
        "transfer_cost_cny",
        "gate_fees_cny",
        "station_cost_cny",
        "distance_km",
        "driver_hours_h",
        "co2_kg",
        "total_cost_cny",
    ):
        assert sum(getattr(k, name) for k in streams) == pytest.approx(
            getattr(county, name), abs=0.05
        ), name


def test_a_facility_over_capacity_sends_its_excess_on_to_disposal():
    doc = _plan(OVERFLOW)
    (day,) = doc.days
    at_f1 = sum(d.get("perishable", 0) for site, d in _unloads(doc) if site == "F1")
    assert at_f1 > 1000  # F1 takes 1 t/day: the capacity binds
    trips = [t for truck in day.transfer_trucks for t in truck.trips]
    excess = [t for t in trips if t.facility_id]
    assert {(t.facility_id, t.station_id, t.site_id, t.stream) for t in excess} == {
        ("F1", "S1", "W1", "perishable")
    }
    assert sum(t.load_kg for t in excess) == at_f1 - 1000
    assert not day.unmoved
    # kept from the incinerator: only what F1 kept
    perishable_kg = sum(v.load_kg for r in day.routes for v in r.visits if v.stream == "perishable")
    rows = {k.id: k for k in doc.kpis if k.scope == "stream"}
    assert rows["perishable"].diverted_share == pytest.approx(1000 / perishable_kg, abs=1e-4)
    assert rows["perishable"].diverted_share < 1
    assert rows["perishable"].gate_fees_cny == pytest.approx(
        (1000 * 40 + (at_f1 - 1000) * 85) / 1000, abs=0.01
    )
    dumped = doc.model_dump(mode="json")["days"][0]["transfer_trucks"]
    assert [
        (trip["facility_id"], trip["site_id"])
        for truck in dumped
        for trip in truck["trips"]
        if "facility_id" in trip
    ] == [("F1", "W1")]
    # the GeoPackage line of the excess starts at F1, not at its home station S1
    from sanitation.io.plan_geo import PlanGeometry, transfer_frame

    scenario = load_scenario(OVERFLOW)
    frame = transfer_frame(
        [(day.date, t) for t in day.transfer_trucks], PlanGeometry(PlanningContext.build(scenario))
    )
    (line,) = frame[frame["facility_id"] == "F1"].geometry
    start = line.coords[0]
    f1 = next(f for f in scenario.facilities if f.facility_id == "F1")
    s1 = next(s for s in scenario.stations if s.station_id == "S1")
    assert abs(start[0] - f1.lon) + abs(start[1] - f1.lat) < abs(start[0] - s1.lon) + abs(
        start[1] - s1.lat
    )


def test_a_facilitys_excess_nothing_takes_exits_3_naming_facility_and_stream(monkeypatch, tmp_path):
    args = ["plan", str(OVERFLOW_NOWHERE), "--date", "2026-11-30", "--out", str(tmp_path / "x")]
    result = run_cli(args, monkeypatch)
    assert result.code == 3, result.message
    assert "facility 'F1'" in result.stderr and "stream 'perishable'" in result.stderr
