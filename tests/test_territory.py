"""Territories (定人定车定线): the balanced p-median binds (balance, access, fixed points, shifts),
the verifier rejects a visit off its territory, and bad ``truck_id`` input is exit 2."""

from __future__ import annotations

import numpy as np
import pytest

from sanitation.errors import InfeasibleError, ScenarioError, VerificationError
from sanitation.scenario import load_scenario
from sanitation.territory import TerritoryProblem, Truck, build_territories
from sanitation.territory import build as territory_build
from sanitation.verify.territory import check, verify
from tests.cli_helpers import run_cli
from tests.territory_helpers import tiny_with_trucks

HOUR = 3600


def _line(
    xs: list[float],
    trucks: list[Truck],
    *,
    access: list[int] | None = None,
    fixed: dict[str, str] | None = None,
    service_s: int = 600,
) -> TerritoryProblem:
    """Depot and station at x=0, points along a road at ``xs`` (1 unit = 1 min), due daily."""
    where = [0.0, 0.0, *xs]
    minutes = np.abs(np.subtract.outer(where, where)) * 60
    matrix = minutes.astype(np.int64)
    n = len(xs)
    return TerritoryProblem(
        station_id="S",
        point_ids=tuple(f"P{i}" for i in range(n)),
        service_s=(service_s,) * n,
        access_rank=tuple(access or [1] * n),
        visits_kg=tuple((100,) * 7 for _ in range(n)),
        duration_s=(matrix, matrix),
        unload_s=300,
        trucks=tuple(trucks),
        fixed=fixed or {},
    )


def _truck(number: int, *, profile: int = 0, limit_h: float = 3) -> Truck:
    return Truck(f"D/t{profile}#{number}", f"t{profile}", profile, 3000, round(limit_h * HOUR))


def _spread(hours: dict[str, float]) -> float:
    return max(hours.values()) / min(hours.values())


# six points near the depot and two far out: the most compact split is 6 + 2 points
UNEVEN = [1, 2, 3, 4, 5, 6, 20, 21]


def test_only_the_trucks_the_busiest_day_needs_get_territories():
    light = build_territories(_line(UNEVEN, [_truck(1, limit_h=8), _truck(2, limit_h=8)]))
    assert set(light.truck_of.values()) == {"D/t0#1"} and set(light.week_hours) == {"D/t0#1"}
    heavy = build_territories(
        _line(UNEVEN, [_truck(1, limit_h=3), _truck(2, limit_h=3)], service_s=1200)
    )
    assert set(heavy.truck_of.values()) == {"D/t0#1", "D/t0#2"}
    assert all(h <= 3 * territory_build.DAY_FILL for t in heavy.day_hours.values() for h in t)


def test_balance_band_binds(monkeypatch):
    problem = _line(UNEVEN, [_truck(1, limit_h=3), _truck(2, limit_h=3)], service_s=1200)
    balanced = build_territories(problem)
    monkeypatch.setattr(territory_build, "BANDS", (None,))
    compact = build_territories(problem)
    assert _spread(compact.week_hours) > 1.3  # without the band: far apart
    assert _spread(balanced.week_hours) <= 1.1 / 0.9 + 1e-9
    assert balanced.band == 0.10
    assert set(balanced.truck_of) == {f"P{i}" for i in range(len(UNEVEN))}


def test_access_class_and_fixed_points_bind():
    small, large = _truck(1, profile=0), _truck(1, profile=1)
    free = build_territories(_line(UNEVEN, [small, large], service_s=1200))
    on_large = next(p for p, t in sorted(free.truck_of.items()) if t == large.truck_id)
    on_small = next(p for p, t in sorted(free.truck_of.items()) if t == small.truck_id)
    access = [0 if f"P{i}" == on_large else 1 for i in range(len(UNEVEN))]  # narrow lanes
    narrow = build_territories(_line(UNEVEN, [small, large], access=access, service_s=1200))
    assert narrow.truck_of[on_large] == small.truck_id
    fixed = build_territories(
        _line(UNEVEN, [small, large], fixed={on_small: large.truck_id}, service_s=1200)
    )
    assert fixed.truck_of[on_small] == large.truck_id


def test_a_fixed_truck_that_does_not_work_here_is_reassigned_and_reported():
    problem = _line(UNEVEN, [_truck(1), _truck(2)], fixed={"P0": "D/t0#9"}, service_s=1200)
    territories = build_territories(problem)
    assert territories.moved == ("P0",)
    assert territories.truck_of["P0"] in {"D/t0#1", "D/t0#2"}


def test_a_fixed_territory_beyond_its_shift_is_infeasible_naming_it():
    truck = _truck(1, limit_h=1)
    fixed = {f"P{i}": truck.truck_id for i in range(6)}  # 6 x 20 min of service alone > 1 h
    problem = _line(UNEVEN, [truck, _truck(2)], fixed=fixed, service_s=1200)
    with pytest.raises(InfeasibleError, match=r"territory of truck D/t0#1 at station S"):
        build_territories(problem)


def test_no_split_within_the_shifts_is_infeasible_naming_the_station():
    problem = _line(UNEVEN, [_truck(1, limit_h=1), _truck(2, limit_h=1)], service_s=1200)
    with pytest.raises(InfeasibleError, match=r"station S: no split"):
        build_territories(problem)


def test_verifier_rejects_a_point_served_by_another_truck():
    truck_of = {"P1": "D1/small_3t#1", "P4": "D1/compactor_5t#1"}
    good = [("r1", "D1/small_3t#1", ["P1"]), ("r2", "D1/compactor_5t#1", ["P4"])]
    assert verify(truck_of, good) == []
    check(truck_of, good)
    wrong = [("r1", "D1/small_3t#1", ["P1", "P4"])]
    errors = verify(truck_of, wrong)
    assert len(errors) == 1 and "'P4'" in errors[0] and "D1/compactor_5t#1" in errors[0]
    with pytest.raises(VerificationError) as raised:
        check(truck_of, wrong)
    assert raised.value.stage == "territory"


# -- scenario input ---------------------------------------------------------------------------
def test_points_truck_id_is_read(tmp_path):
    scenario = load_scenario(tiny_with_trucks(tmp_path, {"P4": "D1/compactor_5t#1"}))
    truck = {p.point_id: p.truck_id for p in scenario.points}
    assert truck["P4"] == "D1/compactor_5t#1" and truck["P1"] is None
    assert scenario.policy.consistency == "territory"


@pytest.mark.parametrize(
    ("truck", "expected"),
    [
        ("D1/compactor_5t#2", "depot 'D1' has 1 compactor_5t"),
        ("D9/small_3t#1", "depot 'D9' has 0 small_3t"),
        ("D1/hooklift_8t#1", "no collection type"),
        ("D1/compactor_5t#1", "access class 'standard'"),  # P2 allows small trucks only
    ],
)
def test_a_truck_that_does_not_exist_or_cannot_reach_is_exit_2(
    tmp_path, monkeypatch, truck, expected
):
    path = tiny_with_trucks(tmp_path, {"P2": truck})
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    text = "\n".join(raised.value.problems)
    assert "record 'P2'" in text and "field 'truck_id'" in text and truck in text
    assert expected in text
    result = run_cli(["validate", str(path)], monkeypatch)
    assert result.code == 2 and not result.traceback
    assert "P2" in result.stderr and truck in result.stderr


def test_a_malformed_truck_id_and_a_bad_policy_are_exit_2(tmp_path):
    path = tiny_with_trucks(tmp_path, {"P1": "compactor_5t"}, policy="always")
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert "consistency" in "\n".join(raised.value.problems)
    path = tiny_with_trucks(tmp_path / "b", {"P1": "compactor_5t"})
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert "'compactor_5t'" in "\n".join(raised.value.problems)


def test_balance_ratio_is_bounded(tmp_path):
    path = tiny_with_trucks(tmp_path, {})
    text = path.read_text(encoding="utf-8") + "  balance_max_ratio: 0.5\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert "balance_max_ratio" in "\n".join(raised.value.problems)
