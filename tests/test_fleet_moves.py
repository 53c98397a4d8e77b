"""Fleet moves in a plan respect access classes: the new-station what-if on a small generated
county. The opened station's narrow-lane points get a small truck from the one station that can
spare one; when none can, the plan names the missing type in its notes and unserved reasons."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleet_helpers import edit_table, fixed_county, plan, rows, set_fleet

from sanitation.scenario import load_scenario

NEW = "ST-C01"


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    """ST-C01 opened with two narrow-lane points; every station's own points need its small
    truck and only ST-001 has a second one, while ST-002/003 have the most trucks to spare."""
    out = tmp_path_factory.mktemp("new_station")
    path = fixed_county(out)
    data = out / "data"
    new_points = [r["point_id"] for r in rows(data / "points.csv") if r["station_id"] == NEW]
    narrow = set(new_points[:2])

    def point(row: dict[str, str]) -> None:
        if row["station_id"] == NEW:
            row["access_class"] = "small" if row["point_id"] in narrow else ""

    edit_table(data / "points.csv", point)
    set_fleet(
        data,
        {
            ("ST-001", "small_3t"): 2,
            ("ST-001", "compactor_5t"): 1,
            ("ST-002", "compactor_5t"): 3,
            ("ST-003", "compactor_5t"): 3,
        },
    )
    return path


def _narrow_points(scenario) -> set[str]:
    return {
        p.point_id for p in scenario.points if p.station_id == NEW and p.access_class == "small"
    }


def test_opened_station_gets_the_small_truck_its_points_need_and_serves_them(county):
    scenario = load_scenario(county)
    for station in ("ST-001", "ST-002", "ST-003"):  # every donor's own points need a small one
        assert any(p.station_id == station and p.access_class == "small" for p in scenario.points)
    document = plan(scenario)
    assert "fleet moved for this plan: 1 × small_3t from ST-001 to ST-C01" in document.notes
    assert not [n for n in document.notes if n.startswith("fleet shortfall")]
    (day,) = document.days
    served = {v.id for r in day.routes for v in r.visits if v.kind == "stop"}
    assert _narrow_points(scenario) <= served
    assert not [u for u in day.unserved if u.station_id == NEW]
    assert all(
        u.reason != "no vehicle type is allowed to serve it (access class)" for u in day.unserved
    )


def test_a_need_no_station_can_meet_is_named_in_the_notes_and_the_unserved_reasons(
    county, tmp_path
):
    overlay = tmp_path / "no_spare.yaml"
    overlay.write_text(
        f"base: {county}\noverrides: {{fleet: {{D-ST-001-small_3t: {{count: 1}}}}}}\n",
        encoding="utf-8",
    )
    scenario = load_scenario(overlay)
    narrow = _narrow_points(scenario)
    document = plan(scenario)
    (note,) = [n for n in document.notes if n.startswith("fleet shortfall")]
    assert f"{NEW} has no small_3t: 2 point(s) {', '.join(sorted(narrow))} need it" in note
    (day,) = document.days
    reasons = {u.point_id: u.reason for u in day.unserved}
    assert set(reasons) >= narrow
    for point_id in narrow:
        assert reasons[point_id].endswith(f"{NEW} has no small_3t"), reasons[point_id]
