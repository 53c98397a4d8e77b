"""A what-if's routed siting starts from its base plan's siting (`sanitation.plan.siting`,
``base_station_of``): a what-if that adds a candidate station never gets a siting dearer than
the base's, priced with the same routes (hypothesis, small generated counties, the default
engine through `plan_days` as `sanitation plan` / compare run it)."""

from __future__ import annotations

import concurrent.futures as cf
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whatif_helpers import plan_against_base

from sanitation.plan import plan_days
from sanitation.plan import siting as siting_module
from sanitation.plan.assign import assign
from sanitation.plan.context import PlanningContext
from sanitation.plan.reuse import Baseline
from sanitation.plan.siting import whatif_siting_mode
from sanitation.scenario import load_scenario
from sanitation.scenario.generate import generate_county

TIME_LIMIT_S = 2.0
EPS_CNY = 0.01  # the report rounds to 0.01 CNY
CANDIDATE = {
    "status": "candidate",
    "fixed_cost_cny_per_day": 250.0,
    "opening_cost_cny_per_day": 250.0,
}
"""The what-if's new candidate: about what it saves in routes (measured 450 CNY/day with 100),
so some counties open it and some do not."""


def _overlay(base: Path, name: str, **keys) -> Path:
    path = base.with_name(f"{name}.yaml")
    document = {"base": base.name, "name": name, **keys}
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def county_pair(
    folder: Path, *, seed: int, n_points: int, n_stations: int = 4
) -> tuple[Path, Path]:
    """A generated county whose existing stations may close and whose candidate ST-C01 is
    closed (the base), and the what-if that makes ST-C01 a candidate (adds a resource)."""
    generated = generate_county(folder, n_points=n_points, n_stations=n_stations, seed=seed)
    base = _overlay(
        generated,
        "closable",
        policy={"keep_existing_open": False},
        overrides={"stations": {"ST-C01": {"status": "closed"}}},
    )
    whatif = _overlay(base, "candidate", overrides={"stations": {"ST-C01": CANDIDATE}})
    return base, whatif


def plan_pair(base_path: Path, whatif_path: Path, cache: Path):
    """The base plan and the what-if planned against it (default engine, a process pool)."""
    _, base_doc, whatif_doc = plan_against_base(
        base_path, whatif_path, time_limit_s=TIME_LIMIT_S, cache_dir=cache
    )
    return base_doc, whatif_doc


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=1, max_value=10_000), n_points=st.integers(16, 22))
def test_a_whatif_adding_a_candidate_is_no_dearer_than_its_base(tmp_path_factory, seed, n_points):
    folder = tmp_path_factory.mktemp("county")
    base_doc, whatif_doc = plan_pair(*county_pair(folder, seed=seed, n_points=n_points), folder)
    base, whatif = base_doc.assignment.siting, whatif_doc.assignment.siting
    assert base.mode == whatif.mode == "routed"
    assert not base.base_start  # a plan of its own has no base
    assert whatif.base_start, whatif.base_start_note
    assert whatif.base_routed_cost_cny_per_day is not None
    assert whatif.routed_cost_cny_per_day <= whatif.base_routed_cost_cny_per_day + EPS_CNY
    assert whatif.routed_cost_cny_per_day <= whatif.estimate_routed_cost_cny_per_day + EPS_CNY
    assert any("the base plan's siting was a start" in note for note in whatif_doc.notes)
    # the plan follows the chosen siting: every point at an open station
    open_ids = {s.station_id for s in whatif_doc.assignment.stations if s.open}
    assert {p.station_id for p in whatif_doc.assignment.points} <= open_ids


TRAP = Path(__file__).parent / "data" / "scenario" / "siting_trap" / "scenario.yaml"


def _trap_copy(folder: Path, **keys) -> Path:
    """``siting_trap`` (see tests/test_plan_siting.py) in ``folder``, with ``keys`` added."""
    folder.mkdir(parents=True, exist_ok=True)
    document = yaml.safe_load(TRAP.read_text(encoding="utf-8"))
    document.update(keys)
    document["data"] = {k: str(TRAP.parent / v) for k, v in document["data"].items()}
    document["roads"]["path"] = str(TRAP.parent / document["roads"]["path"])
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("with_base_start", [True, False])
def test_the_base_start_binds_under_a_tight_budget(tmp_path, monkeypatch, with_base_start):
    """In ``siting_trap`` the estimate keeps ST-B closed and the routes open it (~95 CNY/day
    cheaper). The what-if only adds capacity at ST-A, so its estimate is the base's again; with
    a budget of no whole siting beyond the starts its search cannot leave that estimate, and
    only the base's siting as a start brings it back to the base's cost."""
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        kwargs = {"engine": "pyvrp", "time_limit_s": 1, "executor": pool, "workers": 1}
        kwargs["cache_dir"] = tmp_path / "cache"
        base = load_scenario(_trap_copy(tmp_path / "base"))
        record = Baseline()
        base_doc = plan_days(base, [base.plan_date], record=record, **kwargs)
        assert base_doc.assignment.siting.stations_open == ["ST-A", "ST-B"]
        more = {"stations": {"ST-A": {"capacity_t_per_day": 30}}}
        whatif = load_scenario(_trap_copy(tmp_path / "whatif", overrides=more))
        monkeypatch.setattr(siting_module, "siting_evaluations", lambda time_limit_s: 0)
        if not with_base_start:
            monkeypatch.setattr(siting_module, "base_start", lambda *args: (None, ""))
        whatif_doc = plan_days(whatif, [base.plan_date], reference=record, **kwargs)
    before, after = base_doc.assignment.siting, whatif_doc.assignment.siting
    assert after.estimate_stations_open == before.estimate_stations_open == ["ST-A"]
    assert after.estimate_routed_cost_cny_per_day == before.estimate_routed_cost_cny_per_day
    if with_base_start:
        assert after.base_start
        assert after.base_routed_cost_cny_per_day == before.routed_cost_cny_per_day
        assert after.routed_cost_cny_per_day <= before.routed_cost_cny_per_day + EPS_CNY
        assert after.stations_open == ["ST-A", "ST-B"]
    else:
        assert not after.base_start
        assert after.routed_cost_cny_per_day > before.routed_cost_cny_per_day + 50


def test_a_whatif_without_a_station_to_choose_keeps_the_base_routed_siting(tmp_path):
    """Generated county seed 15 (18 points, ST-C01 a candidate): the base's routes move points
    off the estimate's stations. The what-if builds ST-C01 (no station left to choose): it still
    sites with routes from the base's siting, so no base station gets more points than it had
    and its siting is no dearer than the base's priced here; a base siting equal to the
    what-if's own estimate keeps the estimate alone (nothing to compare)."""
    generated = generate_county(tmp_path / "county", n_points=18, n_stations=2, seed=15)
    built = _overlay(generated, "built", overrides={"stations": {"ST-C01": {"status": "existing"}}})
    base_doc, whatif_doc = plan_pair(generated, built, tmp_path / "cache")
    before, after = base_doc.assignment.siting, whatif_doc.assignment.siting
    assert before.points_moved > 0
    assert after.mode == "routed"
    assert after.reason.startswith("no station to choose")
    assert after.base_start
    assert after.routed_cost_cny_per_day <= after.base_routed_cost_cny_per_day + EPS_CNY
    load = {s.station_id: s.points_due for s in base_doc.days[0].stations}
    for station in whatif_doc.days[0].stations:
        assert station.points_due <= load.get(station.station_id, station.points_due)

    scenario = load_scenario(built)
    ctx = PlanningContext.build(scenario, cache_dir=tmp_path / "cache")
    problem, estimate = assign(ctx, [scenario.plan_date], time_limit_s=30, seed=1)
    ids = problem.station_ids
    own = {pid: ids[int(estimate.station_of[j])] for j, pid in enumerate(problem.point_ids)}
    mode, _ = whatif_siting_mode(scenario, problem, estimate, own)
    assert mode == "estimate"
    assert whatif_siting_mode(scenario, problem, estimate, None)[0] == "estimate"
