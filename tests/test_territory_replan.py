"""Re-plans keep territories: a re-plan of a plan made under ``territory`` keeps every stop on
its territory's truck while that truck works; a broken-down truck's stops go to others, are
listed in ``diff.json``/``diff.md`` and are the only visits the territory check exempts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sanitation.errors import VerificationError
from sanitation.plan.context import PlanningContext
from sanitation.plan.model import PlanDocument
from sanitation.replan.check import check_events
from sanitation.replan.events import parse_events
from sanitation.replan.run import read_plan
from sanitation.replan.solve import station_problem
from sanitation.replan.territory import TRUCK_DOWN, check, territory_truck_of
from tests.cli_helpers import run_cli
from tests.replan_helpers import COMPACTOR, SMALL, replan
from tests.territory_helpers import tiny_with_trucks

SPARE = "D1/small_3t#2"


@pytest.fixture(scope="module")
def territorial_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny day under ``territory`` (P4 fixed to the compactor) with a spare small truck."""
    folder = tmp_path_factory.mktemp("territorial")
    path = tiny_with_trucks(folder, {"P4": COMPACTOR})
    fleet = path.parent / "fleet.csv"
    text = fleet.read_text(encoding="utf-8")
    fleet.write_text(text.replace("F1,D1,small_3t,1", "F1,D1,small_3t,2"), encoding="utf-8")
    out = folder / "plan"
    mp = pytest.MonkeyPatch()
    try:
        args = ["plan", str(path), "--out", str(out), "--engine", "pyvrp", "--time-limit", "1"]
        result = run_cli(args, mp)
    finally:
        mp.undo()
    assert result.code == 0, result.message
    return out


def _doc(folder: Path) -> PlanDocument:
    return PlanDocument.model_validate_json((folder / "plan.json").read_text(encoding="utf-8"))


def _on(doc: PlanDocument) -> dict[str, str]:
    return {v.id: r.vehicle_id for r in doc.days[0].routes for v in r.visits if v.kind == "stop"}


def test_truck_down_moves_only_the_broken_trucks_stops(territorial_plan, tmp_path, monkeypatch):
    base = _doc(territorial_plan)
    own = territory_truck_of(base)
    assert {t for p, t in own.items() if p in _on(base)} == {SMALL, COMPACTOR}
    down = {"type": "truck_down", "vehicle": COMPACTOR, "time": "08:00"}
    out = replan(territorial_plan, tmp_path, monkeypatch, [down], "08:00")
    now = _on(_doc(out))
    broken = sorted(p for p, t in _on(base).items() if t == COMPACTOR)
    assert broken and all(p in now for p in broken)  # served by others
    for point, truck in now.items():
        if point not in broken:
            assert truck == own[point]  # the spare truck took none of the small truck's stops
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    listed = diff["off_territory"]
    assert [c["point_id"] for c in listed] == broken
    assert {(c["territory_truck"], c["reason"]) for c in listed} == {(COMPACTOR, TRUCK_DOWN)}
    assert all(c["truck"] == now[c["point_id"]] for c in listed)
    md = (out / "diff.md").read_text(encoding="utf-8")
    assert f"stops off their territory's truck: {len(broken)}" in md


def test_the_check_exempts_exactly_the_forced_moves(territorial_plan):
    base = _doc(territorial_plan)
    own = territory_truck_of(base)
    day = base.days[0]
    check(day, own, {})  # the plan itself is territorial
    # the small truck's route driven by the spare: its points are off their working truck
    swapped = day.model_copy(
        update={
            "routes": [
                r.model_copy(update={"vehicle_id": SPARE}) if r.vehicle_id == SMALL else r
                for r in day.routes
            ]
        }
    )
    with pytest.raises(VerificationError, match="territory"):
        check(swapped, own, {COMPACTOR: TRUCK_DOWN})  # another truck down exempts nothing here
    check(swapped, own, {SMALL: TRUCK_DOWN})  # its truck broke down: a forced move


def test_each_stop_allows_only_its_territorys_truck_while_it_works(territorial_plan):
    doc, scenario = read_plan(territorial_plan)
    ctx = PlanningContext.build(scenario)
    events = parse_events([{"type": "truck_down", "vehicle": COMPACTOR, "time": "08:00"}], "t")
    state = check_events(doc, scenario, events, 8 * 3600, path="t", network=ctx.places.network)
    able = [t for t in state.trucks.values() if not t.down and not t.finished]
    assert {t.vehicle_id for t in able} == {SMALL, SPARE}

    def allowed() -> dict[str, frozenset[str] | None]:
        problem, _, _ = station_problem(ctx, ["S1"], state, able)
        return {s.id: s.allowed_vehicle_types for s in problem.stops}

    free = allowed()  # as a plan without territories: any working truck of the right type
    own = territory_truck_of(doc)
    state.territory_truck_of = own
    kept = allowed()
    for point, trucks in kept.items():
        if own[point] == COMPACTOR:  # broken down: the others may take it
            assert trucks == free[point] and trucks is not None and len(trucks) > 1
        else:
            assert trucks == frozenset({own[point]}) and free[point] != trucks
