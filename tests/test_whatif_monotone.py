"""Monotonicity of what-ifs planned through compare's reuse path (a baseline's station-days as
the reference, the default engine): adding a resource (a truck, a longer shift, a station with
its own trucks) never worsens routing cost or the number of unserved points (hypothesis, small
generated counties)."""

from __future__ import annotations

import concurrent.futures as cf

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanitation.plan import plan_days
from sanitation.plan.reuse import Baseline
from sanitation.scenario import load_scenario
from sanitation.scenario.generate import generate_county

TIME_LIMIT_S = 2.0
EPS_CNY = 1e-6

#: what-if overlays that only add resources to a generated county (ids of `generate_county`)
ADDITIONS = {
    "one more truck per collection type at ST-001": {
        "overrides": {
            "fleet": {
                "D-ST-001-small_3t": {"count": 2},
                "D-ST-001-compactor_5t": {"count": 2},
            }
        }
    },
    "collection shifts two hours longer": {
        "overrides": {
            "vehicle_types": {
                "small_3t": {"shift_end": "17:30", "max_duration_h": 11.0},
                "compactor_5t": {"shift_end": "17:30", "max_duration_h": 11.0},
            }
        }
    },
    "candidate station built, with its own trucks": {
        "overrides": {
            "stations": {"ST-C01": {"status": "existing"}},
            "fleet": {
                "D-ST-C01-small_3t": {"count": 1},
                "D-ST-C01-compactor_5t": {"count": 1},
            },
        }
    },
}


def _station_days(document):
    return {(s.date, s.station_id): s for day in document.days for s in day.stations}


def _unserved(document):
    return sum(len(day.unserved) for day in document.days)


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=1, max_value=10_000), n_points=st.integers(12, 20))
def test_adding_a_resource_never_worsens_cost_or_service(tmp_path_factory, seed, n_points):
    folder = tmp_path_factory.mktemp("county")
    base_path = generate_county(folder / "base", n_points=n_points, n_stations=2, seed=seed)
    base = load_scenario(base_path)
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        record = Baseline()
        base_doc = plan_days(
            base, [base.plan_date], time_limit_s=TIME_LIMIT_S, record=record, executor=pool
        )
        base_days = _station_days(base_doc)
        for name, overlay in ADDITIONS.items():
            path = base_path.with_name(f"whatif{len(name)}.yaml")
            document = {"base": base_path.name, "name": name, **overlay}
            path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
            whatif = plan_days(
                load_scenario(path),
                [base.plan_date],
                time_limit_s=TIME_LIMIT_S,
                reference=record,
                executor=pool,
            )
            days = _station_days(whatif)
            for key, before in base_days.items():
                after = days.get(key)
                if after is None:  # the new station took all its points
                    continue
                if after.points_due == before.points_due:
                    assert after.points_due - after.points_served <= (
                        before.points_due - before.points_served
                    ), (name, key)
                if after.points_due > before.points_due:
                    continue  # its siting gave it more points: see tests/test_siting_whatif.py
                assert after.cost_cny <= before.cost_cny + EPS_CNY, (name, key)
            if name != "candidate station built, with its own trucks":
                assert _unserved(whatif) <= _unserved(base_doc), name
                total = sum(s.cost_cny for s in days.values())
                assert total <= sum(s.cost_cny for s in base_days.values()) + EPS_CNY, name
