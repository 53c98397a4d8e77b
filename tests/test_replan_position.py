"""A reported position on a road segment (`sanitation.replan.position`): the truck starts where
it stands, the partial travel times along its segment to both ends, not at the nearest node.

The tiny grid's EW1 runs from (116.705, 30.13) to (116.74, 30.13) in one segment: 3.36 km at
50 km/h, 242 s; its middle is 1.7 km from any node (the scenario's snap limit is 300 m).
"""

from __future__ import annotations

import math

from sanitation.plan.context import PlanningContext
from sanitation.replan.events import parse_events
from sanitation.replan.position import RoadSegments
from sanitation.replan.run import read_plan, replan_day
from sanitation.scenario import load_scenario
from tests.replan_helpers import SMALL, TINY, base_plan

__all__ = ["base_plan"]  # the module fixture

MIDDLE = (116.7225, 30.1301)  # 11 m north of the middle of EW1's long segment


def _edge_s(ctx: PlanningContext) -> float:
    a = ctx.places.network.arrays
    (e,) = [
        i
        for i in range(len(a.tail))
        if a.road_id[i] == "EW1" and {a.lon[a.tail[i]], a.lon[a.head[i]]} == {116.705, 116.74}
    ][:1]
    return float(a.travel_time_s[e])


def test_a_place_halfway_along_a_segment_is_half_its_time_from_either_end() -> None:
    ctx = PlanningContext.build(load_scenario(TINY))
    edge_s = _edge_s(ctx)
    place = RoadSegments(ctx.places.network, ctx.places.profiles["small"]).place(*MIDDLE)
    assert place is not None
    assert math.isclose(place.off_road_m, 11.1, abs_tol=1.0)
    assert len(place.ends) == 2  # a two-way road: it may turn round
    for end in place.ends:
        assert math.isclose(end.time_s, edge_s / 2, rel_tol=0.01)
        assert math.isclose(end.distance_m, 3360 / 2, rel_tol=0.02)


def test_a_truck_reported_mid_segment_starts_there(base_plan, tmp_path) -> None:
    doc, scenario = read_plan(base_plan)
    position = {"type": "position", "vehicle": SMALL, "time": "08:05", "load_kg": 400}
    events = parse_events([{**position, "lon": MIDDLE[0], "lat": MIDDLE[1]}], "test")
    _, ctx, _, reps, _ = replan_day(
        doc,
        scenario,
        events,
        8 * 3600 + 600,
        events_path=tmp_path / "events.json",
        work_dir=tmp_path,
        engine="pyvrp",
        time_limit_s=1,
        seed=1,
    )
    rep = reps["S1"]
    problem = rep.problem
    vt = problem.vehicle_type(SMALL)
    start = problem.site(vt.start_site_id).location
    assert start == rep.places[f"gps:{SMALL}"]
    # to the depot (116.700, 30.130): half the segment west, then 481 m of EW1 at 50 km/h
    half = _edge_s(ctx) / 2
    depot = problem.site(vt.depot).location
    assert abs(int(problem.duration_s[vt.profile][start, depot]) - (half + 34.6)) <= 2
    # the truck's route after the report leaves from there
    (route,) = [r for r in rep.solution.routes if r.vehicle_type == SMALL]
    first = route.visits[0]
    assert first.arrival_s - route.depot_departure_s == int(
        problem.duration_s[vt.profile][start, first.location]
    )


def test_on_a_one_way_segment_only_its_head_is_reached() -> None:
    import geopandas as gpd
    from shapely.geometry import LineString

    from geo.graph import from_road_lines
    from geo.network import SMALL_TRUCK

    lines = gpd.GeoDataFrame(
        {
            "road_id": ["ONE", "BACK"],
            "road_class": ["village", "village"],
            "oneway": [True, True],
            "speed_kph": [36.0, 36.0],
            "width_m": [5.0, 5.0],
            "max_weight_t": [None, None],
        },
        geometry=[
            LineString([(116.0, 30.0), (116.02, 30.0)]),  # east, one way
            LineString([(116.02, 30.0), (116.02, 30.01), (116.0, 30.01), (116.0, 30.0)]),
        ],
        crs="EPSG:4326",
    )
    network = from_road_lines(lines)
    place = RoadSegments(network, SMALL_TRUCK).place(116.015, 30.0)
    assert place is not None
    (end,) = place.ends  # no way back along it: only its east end
    a = network.arrays
    assert math.isclose(a.lon[a.node_ids.tolist().index(end.node)], 116.02)
    assert math.isclose(
        end.time_s, 0.25 * 1927 / 10, rel_tol=0.02
    )  # a quarter of 1.93 km at 10 m/s
