"""Transfer per sorted stream: each stream a station received goes on by itself, to a facility
taking it from that station, else to a disposal site accepting it; one stream per container;
the verifier's stream checks; a station's stream with nowhere to go; the plain county as before.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

from sanitation.errors import InfeasibleError
from sanitation.plan import plan_days
from sanitation.scenario.load import load_scenario
from sanitation.transfer import (
    DisposalSite,
    TransferProblem,
    TransferStation,
    TransferTruck,
    solve,
)
from sanitation.verify.transfer import check, verify

H = 3600
# locations: 0 station A (and its depot), 1 station B, 2 incinerator (near), 3 compost plant
DURATION = np.array(
    [[0, 600, 1200, 2400], [600, 0, 1500, 1800], [1200, 1500, 0, 2000], [2400, 1800, 2000, 0]],
    dtype=np.int64,
)
DISTANCE = DURATION * 12
DATA = Path(__file__).parent / "data" / "scenario"
MONDAY = dt.date(2026, 11, 30)


def _truck(tid="T1"):
    return TransferTruck(tid, "A", 0, 6 * H, 18 * H, 11 * H, 0, 11 * H, 13 * H, 400.0, 3.5, 50.0)


def _problem(
    stream_kg=(("perishable", 3000), ("residual", 9000)),
    wte_streams=None,
    compost_capacity=10**7,
    compost_stations=None,
):
    load = sum(kg for _, kg in stream_kg)
    return TransferProblem(
        DURATION,
        DISTANCE,
        stations=(TransferStation("A", 0, load, 8000, 5 * H, 19 * H, 300, stream_kg),),
        sites=(
            DisposalSite("WTE", 2, 10**7, 6 * H, 22 * H, 60.0, 900, wte_streams),
            DisposalSite(
                "COMPOST",
                3,
                compost_capacity,
                6 * H,
                18 * H,
                90.0,
                600,
                frozenset({"perishable"}),
                compost_stations,
                facility=True,
            ),
        ),
        trucks=(_truck("T1"), _truck("T2")),
    )


def _by_site_stream(solution):
    out: dict[tuple[str, str], int] = {}
    for trip in solution.trips:
        out[(trip.site, trip.stream)] = out.get((trip.site, trip.stream), 0) + trip.load_kg
    return out


def test_perishable_goes_to_its_facility_though_the_incinerator_takes_every_stream():
    # the incinerator accepts everything and is nearer and cheaper; sorted waste stays sorted
    problem = _problem()
    solution = solve(problem)
    check(problem, solution)
    assert _by_site_stream(solution) == {("COMPOST", "perishable"): 3000, ("WTE", "residual"): 9000}
    assert not solution.unmoved


def test_a_container_never_mixes_streams():
    # 7.5 t residual + 0.5 t perishable would fill one 8 t container: it takes two trips
    problem = _problem(stream_kg=(("perishable", 500), ("residual", 7500)))
    solution = solve(problem)
    check(problem, solution)
    assert sorted((t.stream, t.load_kg) for t in solution.trips) == [
        ("perishable", 500),
        ("residual", 7500),
    ]


def _with_trips(solution, change):
    """``solution`` with ``change(trip)`` in place of every trip."""
    days = tuple(
        dataclasses.replace(d, trips=tuple(change(t) for t in d.trips)) for d in solution.trucks
    )
    return dataclasses.replace(solution, trucks=days)


def test_the_verifier_rejects_a_trip_to_a_site_refusing_its_stream():
    problem = _problem(wte_streams=frozenset({"residual"}))
    solution = solve(problem)
    check(problem, solution)
    bad = _with_trips(
        solution, lambda t: dataclasses.replace(t, site="WTE") if t.stream == "perishable" else t
    )
    assert any(
        "site 'WTE' does not take stream 'perishable' from station 'A'" in v
        for v in verify(problem, bad)
    )


def test_the_verifier_rejects_a_facility_over_capacity_and_a_relabelled_stream():
    problem = _problem()
    solution = solve(problem)
    smaller = dataclasses.replace(
        problem, sites=(problem.sites[0], dataclasses.replace(problem.sites[1], capacity_kg=2000))
    )
    assert any(
        "site 'COMPOST': receives 3000 kg; capacity 2000 kg" in v for v in verify(smaller, solution)
    )
    relabelled = _with_trips(solution, lambda t: dataclasses.replace(t, stream="residual"))
    problems = verify(problem, relabelled)
    assert any("moved 0 kg + unmoved 0 kg of stream 'perishable'" in v for v in problems)


def test_what_a_facility_has_no_room_for_goes_on_to_disposal():
    # COMPOST takes 2 t of the 3 t; the incinerator (taking every stream) the last tonne
    problem = _problem(compost_capacity=2000)
    solution = solve(problem)
    check(problem, solution)
    assert _by_site_stream(solution) == {
        ("COMPOST", "perishable"): 2000,
        ("WTE", "perishable"): 1000,
        ("WTE", "residual"): 9000,
    }


def test_a_stream_beyond_every_accepting_sites_capacity_is_infeasible_naming_the_stream():
    with pytest.raises(InfeasibleError, match=r"stream 'perishable' short by 1\.0 t"):
        solve(_problem(compost_capacity=2000, wte_streams=frozenset({"residual"})))


# -- a facility over its capacity sends its excess on -----------------------------------------
def _overflowing(wte_streams=None, excess_kg=1000, unloaded_kg=5000):
    """COMPOST (4 t/day) got ``unloaded_kg`` from collection trucks: its ``excess_kg`` leaves
    from COMPOST; station A sends residual only."""
    base = _problem(stream_kg=(("residual", 9000),), wte_streams=wte_streams)
    compost = dataclasses.replace(base.sites[1], capacity_kg=4000, unloaded_kg=unloaded_kg)
    source = TransferStation(
        "COMPOST",
        compost.location,
        excess_kg,
        8000,
        6 * H,
        18 * H,
        300,
        (("perishable", excess_kg),),
        facility=True,
        home_station="A",
    )
    return dataclasses.replace(
        base, stations=(*base.stations, source), sites=(base.sites[0], compost)
    )


def test_a_facility_over_capacity_sends_its_excess_from_the_facility():
    problem = _overflowing()
    solution = solve(problem)
    check(problem, solution)
    excess = [t for t in solution.trips if t.station == "COMPOST"]
    assert [(t.site, t.stream, t.load_kg) for t in excess] == [("WTE", "perishable", 1000)]
    # the trip starts and ends at the facility: its timing is the facility's legs
    (trip,) = excess
    assert trip.unload_start_s >= trip.start_s + 300 + DURATION[3, 2]
    assert trip.end_s == trip.unload_start_s + 900 + DURATION[2, 3]


def test_the_verifier_checks_a_facilitys_mass_balance():
    problem = _overflowing()
    solution = solve(problem)
    kept = _without_trips(solution, lambda t: t.station != "COMPOST")
    problems = verify(problem, kept)
    assert any(
        "site 'COMPOST': 5000 kg unloaded by collection trucks + 0 kg by transfer - 0 kg sent "
        "on = 5000 kg; capacity 4000 kg" in v
        for v in problems
    ), problems
    assert any("facility 'COMPOST': moved 0 kg + unmoved 0 kg" in v for v in problems)
    # a source claiming more than the collection trucks unloaded, or a stream the site refuses
    assert any(
        "facility 'COMPOST': sends on 1000 kg; collection trucks unloaded 900 kg there" in v
        for v in verify(_overflowing(unloaded_kg=900), solution)
    )
    residual = dataclasses.replace(problem.stations[1], stream_kg=(("residual", 1000),))
    relabelled = dataclasses.replace(problem, stations=(problem.stations[0], residual))
    assert any(
        "facility 'COMPOST': sends on stream 'residual', which it does not accept" in v
        for v in verify(relabelled, solution)
    )


def _without_trips(solution, keep):
    """``solution`` with only the trips ``keep(trip)`` accepts (costs as they were)."""
    days = tuple(
        dataclasses.replace(d, trips=tuple(t for t in d.trips if keep(t))) for d in solution.trucks
    )
    return dataclasses.replace(solution, trucks=days)


def test_a_facilitys_excess_nothing_takes_is_infeasible_naming_facility_and_stream():
    with pytest.raises(InfeasibleError) as caught:
        solve(_overflowing(wte_streams=frozenset({"residual"})))
    assert "facility 'COMPOST'" in str(caught.value)
    assert "stream 'perishable'" in str(caught.value)


def test_a_station_stream_with_nowhere_to_go_is_infeasible_naming_both():
    problem = _problem(wte_streams=frozenset({"residual"}), compost_stations=frozenset({"B"}))
    with pytest.raises(InfeasibleError) as caught:
        solve(problem)
    assert "station 'A'" in str(caught.value) and "stream 'perishable'" in str(caught.value)


# -- the chain ---------------------------------------------------------------------------------
def _plan(path: Path):
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        return plan_days(load_scenario(path), [MONDAY], time_limit_s=2, executor=pool, workers=1)


def test_a_station_taking_perishable_sends_it_to_the_facility_not_to_disposal():
    doc = _plan(DATA / "sorted" / "station_takes_perishable.yaml")
    (day,) = doc.days
    trips = [t for truck in day.transfer_trucks for t in truck.trips]
    perishable_at_s1 = sum(
        v.load_kg
        for r in day.routes
        for v in r.visits
        if v.kind == "stop" and v.stream == "perishable"
    ) - sum(kg for site, kg in _unloaded(day, "perishable") if site != "S1")
    assert perishable_at_s1 > 0  # the station received some: the test is not empty
    assert {(t.site_id, t.stream) for t in trips} == {("W1", "residual"), ("F1", "perishable")}
    assert sum(t.load_kg for t in trips if t.stream == "perishable") == perishable_at_s1
    assert not day.unmoved
    dumped = doc.model_dump(mode="json")["days"][0]["transfer_trucks"]
    assert {trip["stream"] for truck in dumped for trip in truck["trips"]} == {
        "residual",
        "perishable",
    }
    rows = {k.id: k for k in doc.kpis if k.scope == "stream"}
    assert rows["perishable"].diverted_share == 1.0


def _unloaded(day, stream):
    """(site, kg of ``stream``) dropped at each unload visit of the day's routes."""
    out = []
    for route in day.routes:
        before: dict[str, int] = {}
        for visit in route.visits:
            if visit.kind == "unload":
                out.append(
                    (visit.id, before.get(stream, 0) - visit.load_after_by_stream_kg.get(stream, 0))
                )
            before = visit.load_after_by_stream_kg
    return out


def test_a_station_stream_with_nowhere_to_go_exits_3_before_planning(monkeypatch, tmp_path):
    path = DATA / "sorted" / "perishable_nowhere.yaml"
    result = run_cli(
        ["plan", str(path), "--date", "2026-11-30", "--out", str(tmp_path / "x")], monkeypatch
    )
    assert result.code == 3, result.message
    assert "station 'S2'" in result.stderr and "stream 'perishable'" in result.stderr
    assert not (tmp_path / "x").exists()


def test_a_county_that_does_not_sort_writes_no_transfer_streams():
    doc = _plan(DATA / "tiny" / "scenario.yaml")
    dumped = doc.model_dump(mode="json")["days"][0]
    trips = [trip for truck in dumped["transfer_trucks"] for trip in truck["trips"]]
    assert trips and all(not {"stream", "facility_id", "distance_m"} & set(trip) for trip in trips)
    assert all(not {"stream", "facility_id"} & set(item) for item in dumped["unmoved"])
    assert {trip["site_id"] for trip in trips} == {"W1"}


def test_a_facility_takes_by_transfer_what_the_collection_trucks_left_of_its_capacity():
    from sanitation.plan.context import PlanningContext
    from sanitation.plan.fleet import FleetPlan, owned_fleet
    from sanitation.plan.transfer_day import build_transfer_problem

    ctx = PlanningContext.build(load_scenario(DATA / "sorted" / "station_takes_perishable.yaml"))
    owned = owned_fleet(ctx.scenario)
    loads = {"S1": {"residual": 1000, "perishable": 500}}
    problem = build_transfer_problem(
        ctx,
        loads,
        FleetPlan(owned, (), owned),
        facility_unloads_kg={("F1", "S1", "perishable"): 4800},
    )
    (station,) = problem.stations
    assert station.load_kg == 1500 and station.loads() == {"residual": 1000, "perishable": 500}
    # F1 takes 5 t/day, 4.8 t of it unloaded by collection trucks; R1 (recyclables) not needed
    assert {(s.id, s.capacity_kg, s.unloaded_kg, s.room_kg) for s in problem.sites} == {
        ("W1", 500_000, 0, 500_000),
        ("F1", 5000, 4800, 200),
    }
    assert [s.id for s in problem.destinations("S1", "perishable")] == ["F1", "W1"]
    assert problem.preferred("S1", "perishable") == {"F1"}
    # the facility takes what it has room for, the incinerator the rest
    solution = solve(problem)
    check(problem, solution)
    assert _by_site_stream(solution) == {
        ("F1", "perishable"): 200,
        ("W1", "perishable"): 300,
        ("W1", "residual"): 1000,
    }


def test_a_facility_over_capacity_becomes_a_source_of_its_excess():
    from sanitation.plan.context import PlanningContext
    from sanitation.plan.fleet import FleetPlan, owned_fleet
    from sanitation.plan.transfer_day import build_transfer_problem, overflow, transfer_out

    ctx = PlanningContext.build(load_scenario(DATA / "sorted" / "station_takes_perishable.yaml"))
    owned = owned_fleet(ctx.scenario)
    unloads = {("F1", "S1", "perishable"): 3200, ("F1", "S2", "perishable"): 2400}
    # no station has anything to move: S1's hook-lift (S1's trucks unloaded the most) moves it
    problem = build_transfer_problem(
        ctx, {}, FleetPlan(owned, (), owned), facility_unloads_kg=unloads
    )
    f1 = problem.site("F1")
    source = problem.station("F1")
    assert (source.facility, source.home_station, source.location) == (True, "S1", f1.location)
    assert source.loads() == {"perishable": 600} and source.container_kg == 8000
    assert problem.station("S1").load_kg == 0 and [t.home_station for t in problem.trucks] == ["S1"]
    assert [s.id for s in problem.destinations("F1", "perishable")] == ["W1"]
    solution = solve(problem)
    check(problem, solution)
    assert _by_site_stream(solution) == {("W1", "perishable"): 600}
    # S2's collection trucks unloaded the most, but S2 has no hook-lift truck and no other
    # station moves anything today: the excess stays at F1, reported under its home station S2
    swapped = {("F1", "S1", "perishable"): 2400, ("F1", "S2", "perishable"): 3200}
    stuck = build_transfer_problem(
        ctx, {}, FleetPlan(owned, (), owned), facility_unloads_kg=swapped
    )
    stuck_solution = solve(stuck)
    check(stuck, stuck_solution)
    _, (left,) = transfer_out(ctx, MONDAY, stuck, stuck_solution)
    assert (left.station_id, left.facility_id, left.stream, left.load_kg) == (
        "S2",
        "F1",
        "perishable",
        600,
    )
    # a facility of two streams: the excess shared by the kg of each, largest remainder first
    f1_two = dataclasses.replace(
        ctx.scenario.facilities[0], streams=frozenset({"perishable", "recyclable"})
    )
    two = ctx.scenario.replace(facilities=(f1_two, *ctx.scenario.facilities[1:]))
    split = overflow(two, {("F1", "S1", "perishable"): 4000, ("F1", "S1", "recyclable"): 2000})
    assert split == {"F1": ("S1", {"perishable": 667, "recyclable": 333})}
    assert overflow(two, {("F1", "S1", "perishable"): 5000}) == {}
