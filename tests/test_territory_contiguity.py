"""Territories contiguous along roads: the road-neighbour graph, the contiguity constraint
binding where balance alone splits a road, fixed, kept and narrow-lane points winning over it,
and the build without contiguity (with a note) when no contiguous split fits the trucks'
days."""

from __future__ import annotations

import itertools

import numpy as np

from sanitation.plan.consistency import territory_notes
from sanitation.territory import TerritoryProblem, Truck, build_territories
from sanitation.territory.contiguity import road_neighbours

HOUR = 3600


def _road(
    xs: list[float], service_min: list[int], trucks: list[Truck], **kwargs
) -> TerritoryProblem:
    """Depot and station at x=0, points along one road at ``xs`` (1 unit = 1 min), due daily."""
    where = [0.0, 0.0, *xs]
    matrix = (np.abs(np.subtract.outer(where, where)) * 60).astype(np.int64)
    n = len(xs)
    access = kwargs.pop("access", [1] * n)
    return TerritoryProblem(
        station_id="S",
        point_ids=tuple(f"P{i}" for i in range(n)),
        service_s=tuple(60 * s for s in service_min),
        access_rank=tuple(access),
        visits_kg=tuple((100,) * 7 for _ in range(n)),
        duration_s=(matrix, matrix),
        unload_s=300,
        trucks=tuple(trucks),
        **kwargs,
    )


def _truck(number: int) -> Truck:
    return Truck(f"D/t0#{number}", "t0", 0, 3000, 3 * HOUR)


def _pieces(owners: list[str | None]) -> int:
    """Runs of one truck along the road (a territory in one piece of road has one run)."""
    return 1 + sum(a != b for a, b in itertools.pairwise(owners))


# Six points along one road, two trucks of 3 h. Within the 10 % band the cheapest split alone
# (the code before contiguity) gives the end point at 17 min to the truck of the 3- and 7-min
# points, P0 P1 | P2 P3 P4 | P5, though its only road neighbour (11 min) is the other truck's.
XS = [3, 7, 8, 9, 11, 17]
SERVICE_MIN = [5, 20, 40, 5, 10, 20]
TRUCKS = [_truck(1), _truck(2)]
SPLIT_BY_BALANCE = {"P0": "D/t0#1", "P1": "D/t0#1", "P5": "D/t0#1"}
SPLIT_BY_BALANCE |= {"P2": "D/t0#2", "P3": "D/t0#2", "P4": "D/t0#2"}


def test_points_along_a_road_neighbour_in_road_order_and_far_clusters_stay_linked():
    where = [0.0, 0.0, *range(1, 11), *range(101, 111)]  # two clusters of 10, 91 min apart
    matrix = (np.abs(np.subtract.outer(where, where)) * 60).astype(np.int64)
    adjacency = road_neighbours(matrix, np.ones(20, dtype=bool))
    # each point's 8 nearest lie in its own cluster: the spanning tree adds the link 9-10
    assert adjacency == tuple(tuple(j for j in (i - 1, i + 1) if 0 <= j < 20) for i in range(20))
    partial = road_neighbours(matrix, np.arange(20) != 4)  # a point the trucks may not serve
    assert partial[3] == (2, 5) and partial[4] == ()


def test_contiguity_keeps_each_territory_in_one_piece_of_road_where_balance_alone_splits_it():
    built = build_territories(_road(XS, SERVICE_MIN, TRUCKS))
    owners = [built.truck_of[f"P{i}"] for i in range(len(XS))]
    assert len(set(owners)) == 2 and _pieces(owners) == 2  # the old split had 3 pieces
    assert built.contiguity and built.detached == {"D/t0#1": (), "D/t0#2": ()}
    assert built.band == 0.10  # balance still met
    assert territory_notes({"S": built}) == []


def test_fixed_and_kept_points_win_over_contiguity_and_are_reported_apart():
    fixed = {"P0": "D/t0#1", "P5": "D/t0#1", "P2": "D/t0#2"}  # both ends on one truck
    built = build_territories(_road(XS, SERVICE_MIN, TRUCKS, fixed=fixed))
    assert all(built.truck_of[p] == t for p, t in fixed.items())
    assert built.contiguity  # the others were still assigned with contiguity
    assert built.detached["D/t0#2"] == ()
    assert built.detached["D/t0#1"] in {("P5",), ("P0", "P1")}
    # a what-if against a base split by balance keeps every base point on its truck
    kept = build_territories(_road(XS, SERVICE_MIN, TRUCKS, kept=SPLIT_BY_BALANCE))
    assert kept.truck_of == SPLIT_BY_BALANCE and kept.changed == {}
    assert kept.detached["D/t0#1"] == ("P5",)
    (note,) = territory_notes({"S": kept})
    assert "1 point(s) of S lie apart" in note and note.endswith(": P5")


def test_a_narrow_lane_point_follows_its_access_class_not_contiguity():
    # the ends are narrow lanes (the small truck only), the middle point the large truck's
    small = Truck("D/small#1", "small", 0, 3000, round(2.2 * HOUR))
    large = Truck("D/large#1", "large", 1, 5000, 3 * HOUR)
    built = build_territories(_road([1, 2, 3], [60, 60, 60], [small, large], access=[0, 1, 0]))
    assert built.truck_of == {"P0": "D/small#1", "P1": "D/large#1", "P2": "D/small#1"}
    assert built.contiguity and len(built.detached["D/small#1"]) == 1


def test_no_contiguous_split_within_the_days_is_built_without_contiguity_and_noted():
    # three points along one road with 60, 120 and 60 min of service, two trucks of 2.2 h: any
    # two neighbours need 3 h, the two ends 2 h, so only the ends together fit a day
    trucks = [Truck(f"D/t0#{k}", "t0", 0, 3000, round(2.2 * HOUR)) for k in (1, 2)]
    built = build_territories(_road([1, 2, 3], [60, 120, 60], trucks))
    assert built.truck_of["P0"] == built.truck_of["P2"] != built.truck_of["P1"]
    assert not built.contiguity
    assert sorted(p for points in built.detached.values() for p in points) in (["P0"], ["P2"])
    (note,) = territory_notes({"S": built})
    assert "built without contiguity (1 point(s) apart" in note
