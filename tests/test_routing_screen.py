"""The screening both engines run before a solve, its reasons, and the lunch gap rule."""

from __future__ import annotations

from routing_helpers import line_matrices as _line
from routing_helpers import truck as _vt

from sanitation.routing.problem import Lunch, RoutingProblem, Site, Stop
from sanitation.routing.screen import UnservedReason, screen

H = 3600


def _reasons(problem: RoutingProblem) -> dict[str, UnservedReason]:
    s = screen(problem)
    assert set(s.candidates).isdisjoint(s.rejected)
    assert len(s.candidates) + len(s.rejected) == len(problem.stops)
    return {problem.stops[i].id: r for i, r in s.rejected.items()}


def test_lunch_gap_times_park_on_the_way_or_at_the_next_location():
    lunch = Lunch(1800, 11 * H, 13 * H)
    # the break starts before the truck would arrive: taken on the way, arrival moves by 30 min
    assert lunch.gap_times(11 * H, 600, 11 * H) == (11 * H + 600 + 1800, 11 * H + 600 + 1800)
    # it starts after arriving: the truck parks there, nothing starts before the break ends
    assert lunch.gap_times(10 * H, 600, 11 * H) == (10 * H + 600, 11 * H + 1800)


def test_reasons_follow_the_rules_in_order():
    dur, dist = _line([0, 1, 50, 2, 3])
    stops = [
        Stop("nobody", 1, 1, allowed_vehicle_types=frozenset({"ghost"})),
        Stop("heavy", 1, 500),
        Stop("over_day", 1, 90),
        Stop("late", 2, 1, tw_close_s=60),  # 50 km away: 3000 s to get there
        Stop("ok", 3, 1),
    ]
    fleet = [_vt(max_load_per_day_kg=80), _vt(id="ghost", count=0)]
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, fleet)
    assert _reasons(problem) == {
        "nobody": UnservedReason.NO_VEHICLE_TYPE,
        "heavy": UnservedReason.LOAD_ABOVE_CAPACITY,
        "over_day": UnservedReason.LOAD_ABOVE_DAY_LIMIT,
        "late": UnservedReason.TIME_WINDOW_UNREACHABLE,
    }


def test_unload_site_hours_and_the_shift_end_bind():
    dur, dist = _line([0, 1, 2])
    # the landfill closes at 1000 s; a stop opening at 900 s cannot be unloaded in its hours
    sites = [Site("st", 0), Site("L", 2, close_s=1000, unload_s=60)]
    stops = [Stop("early", 1, 1), Stop("too_late_to_unload", 1, 1, tw_open_s=950)]
    problem = RoutingProblem(dur, dist, sites, stops, [_vt(unload_sites=("L",))])
    assert _reasons(problem) == {"too_late_to_unload": UnservedReason.NO_TIME_TO_UNLOAD}
    # a shift ending before the truck could be back rejects the stop too
    short = problem.replace(vehicle_types=[_vt(unload_sites=("st",), shift_end_s=100)])
    assert _reasons(short) == {
        "early": UnservedReason.NO_TIME_TO_UNLOAD,
        "too_late_to_unload": UnservedReason.NO_TIME_TO_UNLOAD,
    }


def test_lunch_break_is_placed_in_some_gap_or_the_stop_is_rejected():
    dur, dist = _line([0, 1])
    lunch = Lunch(1800, 11 * H, 13 * H)
    stops = [
        # the window opens 20 min before the shift end: the break fits earlier, while waiting
        Stop("waits", 1, 1, service_s=300, tw_open_s=15 * H + 2400, tw_close_s=16 * H),
        Stop("any", 1, 1),
    ]
    day = _vt(shift_start_s=6 * H, shift_end_s=16 * H, lunch=lunch)
    problem = RoutingProblem(dur, dist, [Site("st", 0)], stops, [day])
    assert _reasons(problem) == {}
    # a shift that ends before the break could end: no route can hold it
    early = _vt(shift_start_s=5 * H, shift_end_s=10 * H, lunch=lunch)
    assert _reasons(problem.replace(vehicle_types=[early])) == {
        "waits": UnservedReason.NO_TIME_TO_UNLOAD,  # its window is reachable, the return is not
        "any": UnservedReason.NO_TIME_TO_UNLOAD,
    }
    # the break counts against the route time limit
    tight = _vt(shift_start_s=10 * H, shift_end_s=16 * H, lunch=lunch, max_duration_s=1900)
    assert _reasons(problem.replace(stops=[stops[1]], vehicle_types=[tight])) == {
        "any": UnservedReason.NO_TIME_TO_UNLOAD
    }


def test_candidates_carry_the_vehicle_types_that_could_serve_them():
    dur, dist = _line([0, 1])
    lunch = Lunch(3600, 11 * H, 13 * H)
    early = _vt(id="early", shift_start_s=5 * H, shift_end_s=10 * H, lunch=lunch)
    day = _vt(id="day", shift_start_s=8 * H, shift_end_s=16 * H, lunch=lunch)
    problem = RoutingProblem(dur, dist, [Site("st", 0)], [Stop("A", 1, 1)], [early, day])
    s = screen(problem)
    assert s.candidates == (0,)
    assert s.vehicle_types[0] == (1,)  # only "day"
    assert s.rejected == {}


def test_reason_texts_are_what_the_plan_shows():
    assert str(UnservedReason.FLEET_EXHAUSTED) == (
        "fleet capacity/time exhausted (lowest priority dropped first)"
    )
    assert len({r.value for r in UnservedReason}) == len(UnservedReason)
