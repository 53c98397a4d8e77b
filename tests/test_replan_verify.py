"""The re-plan verifier (`sanitation.verify.replan`) on a hand-made line: it accepts the right
continuation and rejects a moved done stop, a changed past, a teleport and a wrong load."""

from __future__ import annotations

import dataclasses

from sanitation.routing.problem import RoutingProblem, Site, Stop
from sanitation.routing.schedule import build_route
from sanitation.routing.solution import RoutingSolution, Visit
from sanitation.verify.replan import ReplanClaim, TruckFacts, done_count, verify_replan
from tests.routing_helpers import line_matrices, truck

# old plan of truck T: A at km 5 (08:00), B at km 6 (08:30), C at km 8 (09:30), unload at km 0
A = Visit("stop", "A", 2, 28_500, 28_800, 28_860, 20)
B = Visit("stop", "B", 3, 30_540, 30_600, 30_660, 50)
C = Visit("stop", "C", 4, 34_080, 34_200, 34_260, 80)
U = Visit("unload", "st", 0, 34_740, 34_740, 34_800, 0)
AT = 30_650  # 08:30:50: A is done, B is being served (until 30 660)
FACTS = TruckFacts("T", (A, B, U), 28_200)


def problem_after(start_site: str | None = "at:T", load: int = 50) -> RoutingProblem:
    """The re-plan's problem: T stands at B (km 6) with 50 kg; C is still due."""
    dur, dist = line_matrices([0, 6, 5, 6, 8])
    vt = truck(
        id="T",
        start_site=start_site,
        initial_load_kg=load,
        shift_start_s=30_660,
        shift_end_s=50_000,
    )
    sites = [Site("st", 0), Site("at:T", 1)]
    return RoutingProblem(dur, dist, sites, [Stop("C", 4, 30)], [vt])


def claim(problem: RoutingProblem, kept=(A, B), places=None) -> ReplanClaim:
    route = build_route(problem, "T", 0, [("stop", "C")])
    solution = RoutingSolution((route,), (), route.cost_cny, "test", 0.0)
    return ReplanClaim(AT, problem, solution, {"T": tuple(kept)}, places or {"B": 1, "A": 2})


def test_done_part_rule() -> None:
    old = dataclasses.replace(FACTS, old_visits=(A, B, C, U))
    assert done_count(old, 30_000) == 2  # A done, on the way to B: committed to it
    assert done_count(old, AT) == 2  # B being served
    assert done_count(old, 31_000) == 3  # B done at 30 660, driving to C at 31 000
    assert done_count(dataclasses.replace(old, down_at_s=30_620), 31_000) == 2
    assert done_count(dataclasses.replace(old, done_reported=frozenset({"C"})), 29_000) == 3


def test_accepts_the_right_continuation() -> None:
    facts = FACTS
    assert verify_replan([facts], claim(problem_after())) == []


def test_rejects_a_moved_done_stop() -> None:
    facts = FACTS
    moved = dataclasses.replace(B, start_s=B.start_s + 600, departure_s=B.departure_s + 600)
    errors = verify_replan([facts], claim(problem_after(), kept=(A, moved)))
    assert any("before the re-plan changed" in e for e in errors)
    errors = verify_replan([facts], claim(problem_after(), kept=(A,)))
    assert any("1 visit(s) kept" in e for e in errors)


def test_rejects_a_done_stop_served_again() -> None:
    facts = FACTS
    problem = problem_after().replace(stops=[Stop("C", 4, 30), Stop("B", 3, 10)])
    route = build_route(problem, "T", 0, [("stop", "C"), ("stop", "B")])
    solution = RoutingSolution((route,), (), route.cost_cny, "test", 0.0)
    c = ReplanClaim(AT, problem, solution, {"T": (A, B)}, {"B": 1})
    errors = verify_replan([facts], c)
    assert any("'B' was done before the re-plan" in e for e in errors)
    assert verify_replan([facts], dataclasses.replace(c, reopened=frozenset({"B"}))) == []


def test_rejects_a_teleport() -> None:
    facts = FACTS
    # the continuation starts from the depot, 6 km from where the truck stands
    errors = verify_replan([facts], claim(problem_after(start_site=None)))
    assert any("teleport" in e for e in errors)


def test_rejects_a_wrong_load_and_a_broken_truck_going_on() -> None:
    facts = FACTS
    errors = verify_replan([facts], claim(problem_after(load=0)))
    assert any("0 kg on board, expected 50 kg" in e for e in errors)
    down = dataclasses.replace(facts, down_at_s=30_700)
    errors = verify_replan([down], claim(problem_after()))
    assert any("reported down" in e for e in errors)
