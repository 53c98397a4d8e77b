"""``policy.fleet: minimise`` on a small generated county where service time binds: the smallest
fleet found serves every point and moves all waste; one collection truck fewer of any type at the
busiest station leaves points unserved, one hook-lift fewer leaves waste unmoved.

Hand check: ST-002 has 17 points of 1 h service each; two trucks have at most 2 × 9 h = 18 h,
less than 17 h of service + two 30 min lunches + unloads + driving, so it needs three trucks.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import yaml
from fleet_helpers import DAY, edit_table, fixed_county, plan, set_fleet

from sanitation.scenario import load_scenario

BUSY = "ST-002"
STATIONS = ("ST-001", "ST-002", "ST-003", "ST-C01")


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("minimise")
    path = fixed_county(out)
    edit_table(out / "data" / "points.csv", lambda row: row.update(service_s="3600"))
    owned = {(s, t): n for s in STATIONS for t, n in (("small_3t", 2), ("compactor_5t", 4))}
    set_fleet(out / "data", owned)
    return path


def _with(county: Path, folder: Path, **policy: str) -> Path:
    document = yaml.safe_load(county.read_text(encoding="utf-8"))
    document["policy"].update(policy)
    path = folder / "scenario.yaml"
    (folder / "data").symlink_to(county.parent / "data")
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def minimum(county, tmp_path_factory):
    return plan(load_scenario(_with(county, tmp_path_factory.mktemp("min"), fleet="minimise")))


def _working(document, station: str) -> dict[str, int]:
    return {
        r.type_id: r.working
        for r in document.fleet.rows
        if r.station_id == station and r.role == "collection" and r.working > 0
    }


def test_the_smallest_fleet_serves_every_point_and_is_all_used(minimum):
    assert sum(p.station_id == BUSY for p in minimum.assignment.points) == 17  # the hand check
    assert [u for day in minimum.days for u in day.unserved] == []
    assert minimum.fleet.policy == "minimise"
    assert minimum.fleet.search is not None and minimum.fleet.search.complete
    assert sum(_working(minimum, BUSY).values()) == 3
    for row in minimum.fleet.rows:
        if row.scope == "station" and row.role == "collection":
            assert row.working == row.needed <= row.owned, row  # no idle truck is kept
    county_small = next(
        r for r in minimum.fleet.rows if r.scope == "county" and r.type_id == "small_3t"
    )
    assert county_small.owned == 8 and county_small.working < county_small.owned


def _fewer(county: Path, folder: Path, minimum, station: str, type_id: str) -> Path:
    """The county owning the minimum fleet everywhere but one truck fewer of ``type_id`` at
    ``station``."""
    counts = {
        f"D-{r.station_id}-{r.type_id}": {"count": r.working}
        for r in minimum.fleet.rows
        if r.scope == "station"
    }
    counts[f"D-{station}-{type_id}"]["count"] -= 1
    folder.mkdir()
    path = _with(county, folder)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["overrides"] = {"fleet": counts}
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def test_one_collection_truck_fewer_than_the_minimum_leaves_points_unserved(
    minimum, county, tmp_path
):
    working = _working(minimum, BUSY)
    for type_id in sorted(working):
        result = plan(load_scenario(_fewer(county, tmp_path / type_id, minimum, BUSY, type_id)))
        unserved = [u for day in result.days for u in day.unserved if u.station_id == BUSY]
        assert unserved, type_id


def test_one_hooklift_fewer_than_the_minimum_leaves_waste_unmoved(minimum, county, tmp_path):
    hooklifts = [r for r in minimum.fleet.rows if r.role == "transfer" and r.working > 0]
    county_row = next(r for r in hooklifts if r.scope == "county")
    assert county_row.working < county_row.owned  # the search removed some
    assert all(not day.unmoved for day in minimum.days)
    station = next(r for r in hooklifts if r.scope == "station")
    fewer = _fewer(county, tmp_path / "fewer", minimum, station.station_id, station.type_id)
    result = plan(load_scenario(fewer))
    assert [u for day in result.days for u in day.unmoved]


def test_a_week_is_sized_by_its_busiest_day(tmp_path):
    """The tiny county over a week: its narrow-lane point needs the small truck on its days,
    so the minimum keeps it, drops the idle compactor and still serves every due point."""
    tiny = Path(__file__).parent / "data" / "scenario" / "tiny" / "scenario.yaml"
    overlay = tmp_path / "week.yaml"
    overlay.write_text(f"base: {tiny}\npolicy: {{fleet: minimise}}\n", encoding="utf-8")
    week = [DAY + dt.timedelta(days=k) for k in range(-4, 3)]  # Monday 23 .. Sunday 29 Nov
    document = plan(load_scenario(overlay), dates=week, time_limit_s=1)
    assert [u for day in document.days for u in day.unserved] == []
    rows = {(r.scope, r.type_id): r for r in document.fleet.rows}
    small = rows[("station", "small_3t")]
    assert (small.owned, small.working, small.needed) == (1, 1, 1)
    assert small.truck_days == sum(
        any(r.vehicle_type == "small_3t" for r in day.routes) for day in document.days
    )
    assert small.peak_date == min(d.date for d in document.days if d.routes)
    assert rows[("station", "compactor_5t")].working == 0


def test_minimise_on_the_default_engine_drops_the_idle_compactor(tmp_path):
    """What `sanitation plan` runs: the portfolio engine in its own process pool. The tiny
    county's idle compactor goes, the small truck its narrow-lane point needs stays, every due
    point is served and every route passes the verifier (inside `plan_days`)."""
    from sanitation.engines import DEFAULT_ENGINE
    from sanitation.io.plan_folder import plan_to_folder

    tiny = Path(__file__).parent / "data" / "scenario" / "tiny" / "scenario.yaml"
    overlay = tmp_path / "minimum.yaml"
    overlay.write_text(f"base: {tiny}\npolicy: {{fleet: minimise}}\n", encoding="utf-8")
    scenario = load_scenario(overlay)
    document, _ = plan_to_folder(
        scenario, [DAY], tmp_path / "out", engine=DEFAULT_ENGINE, time_limit_s=2
    )
    assert document.engine == "portfolio"
    assert [u for day in document.days for u in day.unserved] == []
    rows = {(r.scope, r.type_id): r for r in document.fleet.rows}
    assert rows[("station", "compactor_5t")].working == 0
    assert rows[("station", "small_3t")].working == 1
    assert (tmp_path / "out" / "fleet.csv").is_file()


def _search(document) -> tuple:
    search = document.fleet.search
    rows = [(r.scope, r.station_id, r.type_id, r.working) for r in document.fleet.rows]
    return search.removals_tried, search.removals_kept, search.untried, search.complete, rows


def test_a_slow_machine_gives_the_same_fleet(minimum, county, tmp_path, monkeypatch):
    """The search's first round takes longer than its whole former wall-clock budget (a slow or
    loaded machine): the work done, not the clock, decides when it stops, so the same fleet
    comes out (the wall-clock search stopped after that round, leaving pairs untried)."""
    from sanitation.plan import fleet_size

    real = fleet_size.minimise_fleet
    former_budget_s = fleet_size.COLLECTION_SHARE * fleet_size.BUDGET_FACTOR * 2  # plan(): 2 s

    def slow_first_round(*args, solve, **kwargs):
        calls = []

        def slowed(problems):
            if not calls:
                time.sleep(1.1 * former_budget_s)
            calls.append(len(problems))
            return solve(problems)

        return real(*args, solve=slowed, **kwargs)

    monkeypatch.setattr(fleet_size, "minimise_fleet", slow_first_round)
    slow = plan(load_scenario(_with(county, tmp_path, fleet="minimise")))
    assert not slow.fleet.search.stopped_by_time
    assert slow.fleet.search.seconds > former_budget_s
    assert _search(slow) == _search(minimum)


def test_the_wall_clock_cap_stops_the_search_and_says_so(county, tmp_path, monkeypatch):
    from sanitation.plan import fleet_size

    monkeypatch.setattr(fleet_size, "WALL_CAP_FACTOR", 1e-9)
    capped = plan(load_scenario(_with(county, tmp_path, fleet="minimise")))
    assert capped.fleet.search.stopped_by_time
    assert not capped.fleet.search.complete and capped.fleet.search.removals_tried == 0
