"""Routing problem validation and the sequence scheduler."""

from __future__ import annotations

import numpy as np
import pytest
from routing_helpers import truck

from sanitation.engines import get_engine
from sanitation.routing.engine import SolveParams
from sanitation.routing.problem import Lunch, RoutingProblem, Site, Stop, VehicleType
from sanitation.routing.schedule import ScheduleError, build_route

M = np.array([[0, 600, 900], [600, 0, 300], [900, 300, 0]])


def _vt(**kw: object) -> VehicleType:
    """A 10 kg truck based at ``d`` with a 10 h shift and no running cost."""
    base: dict[str, object] = {
        "id": "t",
        "capacity_kg": 10,
        "depot": "d",
        "unload_sites": ("d",),
        "shift_end_s": 36_000,
        "cost_cny_per_km": 0.0,
    }
    return truck(**{**base, **kw})


def test_messages_name_the_object_and_field():
    with pytest.raises(ValueError, match=r"Stop 'P1': tw_open_s must be <= tw_close_s\."):
        Stop("P1", 0, 1, tw_open_s=10, tw_close_s=5)
    with pytest.raises(ValueError, match=r"Lunch: window_start_s \+ duration_s"):
        Lunch(3600, 0, 1800)
    with pytest.raises(IndexError, match=r"VehicleType 't': depot 'x' is not a site"):
        RoutingProblem(M, M, [Site("d", 0)], [], [_vt(depot="x")])
    with pytest.raises(IndexError, match=r"Stop 'S': location 7 out of range"):
        RoutingProblem(M, M, [Site("d", 0)], [Stop("S", 7, 1)], [_vt()])
    with pytest.raises(ValueError, match=r"must be integers"):
        RoutingProblem(M * 1.0, M, [Site("d", 0)], [], [_vt()])
    with pytest.raises(ValueError, match=r"Stop 'S': id is not unique"):
        RoutingProblem(M, M, [Site("d", 0)], [Stop("S", 1, 1), Stop("S", 2, 1)], [_vt()])


def test_problem_is_immutable_and_replace_copies():
    p = RoutingProblem(M, M, [Site("d", 0)], [Stop("S", 1, 1)], [_vt()])
    with pytest.raises(AttributeError):
        p.stops = ()  # type: ignore[misc]
    assert not p.duration_s[0].flags.writeable
    q = p.replace(stops=[])
    assert len(p.stops) == 1
    assert q.stops == ()
    assert p.vehicle_types[0].max_duration_s == 36_000


def test_unserved_penalty_exceeds_any_route_cost_and_grows_with_priority():
    p = RoutingProblem(
        M,
        M,
        [Site("d", 0)],
        [Stop("a", 1, 1, priority=1), Stop("b", 2, 1, priority=2)],
        [_vt(fixed_cost_cny=100, cost_cny_per_km=5, cost_cny_per_h=60)],
    )
    assert p.unserved_penalty("a") > p.route_cost_bound_cny
    assert p.unserved_penalty("b") == 2 * p.unserved_penalty("a")


def test_scheduler_places_lunch_in_waiting_time_and_leaves_late():
    stops = [Stop("a", 1, 1, service_s=100, tw_open_s=9000), Stop("b", 2, 1, service_s=100)]
    vt = _vt(lunch=Lunch(1000, 7000, 9000))
    p = RoutingProblem(M, M, [Site("d", 0)], stops, [vt])
    r = build_route(p, "t", 0, [("stop", "a"), ("stop", "b")])
    # the truck leaves as late as possible, takes lunch while it would otherwise wait
    assert r.visits[0].start_s == 9000
    assert r.lunch_start_s is not None
    assert 7000 <= r.lunch_start_s <= 8000
    assert r.visits[-1].kind == "unload"
    assert r.duration_s == 600 + 100 + 300 + 100 + 900 + 1000  # no idle time left


def test_scheduler_rejects_a_missed_window():
    p = RoutingProblem(M, M, [Site("d", 0)], [Stop("a", 1, 1, tw_close_s=500)], [_vt()])
    with pytest.raises(ScheduleError, match="time window missed") as info:
        build_route(p, "t", 0, [("stop", "a")])
    assert info.value.position == 0


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown routing engine 'nope'"):
        get_engine("nope")
    with pytest.raises(ValueError, match="time_limit_s must be > 0"):
        SolveParams(time_limit_s=0)


def test_problem_pickles_for_worker_processes():
    import pickle

    p = RoutingProblem(M, M, [Site("d", 0)], [Stop("S", 1, 1)], [_vt(lunch=Lunch(60, 0, 600))])
    q = pickle.loads(pickle.dumps(p))
    assert q.stops == p.stops
    assert q.vehicle_types == p.vehicle_types
    assert np.array_equal(q.duration_s[0], p.duration_s[0])
    assert q.stop("S").location == 1
