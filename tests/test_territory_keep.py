"""What-ifs keep territories: a what-if's territories start from its base's (`TerritoryProblem.
kept`); only the points that must move change truck, each with its reason."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json

import numpy as np
import pytest

from sanitation.compare import compare_scenarios
from sanitation.territory import TerritoryProblem, Truck, build_territories
from tests.territory_helpers import tiny_with_trucks

HOUR = 3600
# two clusters along a road (1 unit = 1 min): near the depot, and far out
XS = [1, 2, 3, 4, 30, 31, 32, 33]


def _line(trucks: list[Truck], **kwargs) -> TerritoryProblem:
    where = [0.0, 0.0, *XS]
    matrix = (np.abs(np.subtract.outer(where, where)) * 60).astype(np.int64)
    n = len(XS)
    return TerritoryProblem(
        station_id="S",
        point_ids=tuple(f"P{i}" for i in range(n)),
        service_s=(1200,) * n,
        access_rank=(1,) * n,
        visits_kg=tuple((100,) * 7 for _ in range(n)),
        duration_s=(matrix, matrix),
        unload_s=300,
        trucks=tuple(trucks),
        **kwargs,
    )


def _truck(number: int, limit_h: float = 3.5) -> Truck:
    return Truck(f"D/t0#{number}", "t0", 0, 3000, round(limit_h * HOUR))


THREE = [_truck(1), _truck(2), _truck(3)]


@pytest.fixture(scope="module")
def base():
    built = build_territories(_line(THREE))
    assert len(set(built.truck_of.values())) >= 2  # the week needs several trucks
    return built


def test_a_what_if_that_changes_nothing_keeps_every_territory(base):
    again = build_territories(_line(THREE, kept=base.truck_of), seed=7)
    assert again.truck_of == base.truck_of
    assert again.changed == {}


def test_longer_shifts_keep_territories_a_fresh_build_would_merge(base):
    longer = [dataclasses.replace(t, limit_s=6 * HOUR) for t in THREE]
    fresh = build_territories(_line(longer))
    assert len(set(fresh.truck_of.values())) < len(set(base.truck_of.values()))  # re-drawn
    kept = build_territories(_line(longer, kept=base.truck_of))
    assert kept.truck_of == base.truck_of and kept.changed == {}


def test_a_removed_truck_moves_only_its_points(base):
    gone = max(set(base.truck_of.values()), key=lambda t: len(base.points_of(t)))
    left = [t for t in THREE if t.truck_id != gone]
    what_if = build_territories(_line(left, kept=base.truck_of))
    own = set(base.points_of(gone))
    assert what_if.changed == dict.fromkeys(sorted(own), "truck removed")
    for point, truck in base.truck_of.items():
        if point not in own:
            assert what_if.truck_of[point] == truck  # every other point stays
    assert set(what_if.truck_of) == set(base.truck_of)  # the removed truck's points are served


def test_a_shorter_shift_lets_go_only_what_no_longer_fits(base):
    busiest = max(set(base.truck_of.values()), key=lambda t: max(base.day_hours[t]))
    need_h = max(base.day_hours[busiest])
    trucks = [
        dataclasses.replace(t, limit_s=round((need_h - 0.5) * HOUR)) if t.truck_id == busiest else t
        for t in THREE
    ]
    what_if = build_territories(_line(trucks, kept=base.truck_of))
    assert what_if.changed  # the shift binds
    assert set(what_if.changed.values()) == {"over the shift"}
    assert set(what_if.changed) < set(base.points_of(busiest))
    kept = [p for p in base.points_of(busiest) if p not in what_if.changed]
    assert kept and all(what_if.truck_of[p] == busiest for p in kept)
    others = [p for p, t in base.truck_of.items() if t != busiest]
    assert all(what_if.truck_of[p] == base.truck_of[p] for p in others)


def test_a_fixed_point_wins_over_its_base_territory(base):
    point = sorted(base.truck_of)[0]
    other = next(t.truck_id for t in THREE if t.truck_id != base.truck_of[point])
    what_if = build_territories(_line(THREE, kept=base.truck_of, fixed={point: other}))
    assert what_if.truck_of[point] == other
    assert what_if.changed == {point: "fixed in the scenario"}


def _territories(plan: dict) -> dict[str, str]:
    return {p: t["truck_id"] for t in plan["consistency"]["territories"] for p in t["point_ids"]}


def test_compare_keeps_the_base_territories_and_lists_the_forced_moves(tmp_path):
    base = tiny_with_trucks(tmp_path, {"P4": "D1/compactor_5t#1"})  # two territories
    same = tmp_path / "same.yaml"
    same.write_text(f"base: {base}\noverrides: {{}}\n", encoding="utf-8")
    cut = tmp_path / "cut.yaml"  # the small truck removed
    cut.write_text(f"base: {base}\noverrides: {{fleet: {{F1: {{count: 0}}}}}}\n", "utf-8")
    out = tmp_path / "cmp"
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        table = compare_scenarios(
            [base, same, cut],
            out,
            day=None,
            engine="pyvrp",
            time_limit_s=1,
            noise_seeds=1,
            executor=pool,
        )
    plans = {
        n: json.loads((out / n / "plan.json").read_text("utf-8"))
        for n in ("scenario", "same", "cut")
    }
    before = _territories(plans["scenario"])
    small = sorted(p for p, t in before.items() if t == "D1/small_3t#1")
    assert small and len(small) < len(before)
    assert _territories(plans["same"]) == before
    assert plans["same"]["consistency"]["truck_changes"] == []
    after = _territories(plans["cut"])
    assert all(after[p] == t for p, t in before.items() if p not in small)  # the others stay
    changes = json.loads((out / "truck_changes.json").read_text("utf-8"))
    by_name = {w["scenario"]: w for w in changes["what_ifs"]}
    assert by_name["same"]["count"] == 0
    moved = by_name["cut"]["points"]
    assert [c["point_id"] for c in moved] == small
    assert {c["reason"] for c in moved} == {"truck removed"}
    assert all(c["truck_id"] == after.get(c["point_id"]) for c in moved)
    assert f"| cut | {len(small)} | truck removed: {len(small)} |" in table
    assert "| same | 0 | – |" in table
