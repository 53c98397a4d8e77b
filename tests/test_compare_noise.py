"""``sanitation compare``: the noise band (the base's spread over seeds) and "no significant
change", which stations a what-if changed, a non-binding cut that gives the base's plan, and
what-ifs labelled by their own names."""

from __future__ import annotations

import concurrent.futures as cf
import csv
import json
from pathlib import Path

import pytest

from sanitation.compare import compare_scenarios, noise_band
from sanitation.io.compare import NO_SIGNIFICANT_CHANGE, NoiseBand, write_compare_outputs
from sanitation.plan import plan_days
from sanitation.plan.reuse import Baseline
from sanitation.scenario import load_scenario

TINY = Path(__file__).parent / "data" / "scenario" / "tiny" / "scenario.yaml"


@pytest.fixture(scope="module")
def base():
    scenario = load_scenario(TINY)
    record = Baseline()
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        doc = plan_days(
            scenario,
            [scenario.plan_date],
            engine="pyvrp",
            time_limit_s=1,
            executor=pool,
            workers=1,
            record=record,
        )
    return doc, record


def _costlier(doc, factor):
    kpis = [
        k.model_copy(update={"total_cost_cny": round(k.total_cost_cny * factor, 2)})
        for k in doc.kpis
    ]
    return doc.model_copy(update={"kpis": kpis})


def _with_basis(doc, basis):
    days = []
    for day in doc.days:
        stations = [s.model_copy(update={"basis": basis}) for s in day.stations]
        days.append(day.model_copy(update={"stations": stations}))
    return doc.model_copy(update={"days": days})


def _county_total(path: Path) -> dict[str, str]:
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    return next(r for r in rows if r["scope"] == "county" and r["metric"] == "total_cost_cny")


def test_a_delta_inside_the_band_reads_no_significant_change(base, tmp_path):
    doc, _ = base
    total = next(k for k in doc.kpis if k.scope == "county").total_cost_cny
    band = NoiseBand(seeds=(1, 2, 3), spread={("county", "county", "total_cost_cny"): 0.05 * total})
    small, large = _costlier(doc, 1.01), _costlier(doc, 1.5)
    write_compare_outputs(["base", "small", "large"], [doc, small, large], tmp_path, noise=band)
    md = (tmp_path / "compare.md").read_text(encoding="utf-8")
    line = next(x for x in md.splitlines() if x.startswith("| 总费用 total cost"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[4].endswith(NO_SIGNIFICANT_CHANGE)  # small: +1 % inside ±5 %
    assert NO_SIGNIFICANT_CHANGE not in cells[5]  # large: +50 %
    assert cells[6] == f"±{0.05 * total:,.2f}"
    assert "3 seeds (1, 2, 3)" in md
    row = _county_total(tmp_path / "compare.csv")
    assert row["significant small"] == "False" and row["significant large"] == "True"
    assert float(row["noise_band (seeds 1 2 3)"]) == pytest.approx(0.05 * total)


def test_without_a_band_deltas_are_plain(base, tmp_path):
    doc, _ = base
    write_compare_outputs(["base", "large"], [doc, _costlier(doc, 1.5)], tmp_path)
    md = (tmp_path / "compare.md").read_text(encoding="utf-8")
    assert NO_SIGNIFICANT_CHANGE not in md and "noise band" not in md.lower()
    assert _county_total(tmp_path / "compare.csv")["significant large"] == ""


def test_the_changed_stations_are_marked(base, tmp_path):
    doc, _ = base
    same, changed = _with_basis(doc, "reused"), _with_basis(doc, "warm_started")
    write_compare_outputs(["base", "same", "changed"], [doc, same, changed], tmp_path)
    md = (tmp_path / "compare.md").read_text(encoding="utf-8")
    table = md.split("## 变化的转运站 (stations changed)")[1]
    station = doc.days[0].stations[0].station_id
    line = next(x for x in table.splitlines() if x.startswith(f"| {station} "))
    assert "unchanged (base's routes reused)" in line and "changed (re-solved" in line
    rows = list(
        csv.DictReader((tmp_path / "compare.csv").read_text(encoding="utf-8-sig").splitlines())
    )
    basis = next(r for r in rows if r["metric"] == "basis" and r["id"] == station)
    assert (basis["same"], basis["changed"]) == ("reused", "warm_started")


def test_the_noise_band_is_the_spread_over_seeds(base):
    _, record = base
    band = noise_band(record.station_days, engine="pyvrp", seed=1, noise_seeds=2)
    assert band.seeds == (1, 2)
    spread = band.of("county", "county", "total_cost_cny")
    assert spread is not None and spread >= 0
    assert band.of("county", "county", "gate_fees_cny") is None  # not re-solved
    single = noise_band(record.station_days, engine="pyvrp", seed=1, noise_seeds=1)
    assert single.of("county", "county", "total_cost_cny") is None


def test_a_cut_that_does_not_bind_gives_the_base_plan_exactly(tmp_path):
    base = load_scenario(TINY)
    used = {
        r.vehicle_type
        for d in plan_days(base, [base.plan_date], engine="pyvrp", time_limit_s=1, workers=1).days
        for r in d.routes
    }
    fleet = {"F1": "small_3t", "F2": "compactor_5t"}
    unused = next(f for f, t in fleet.items() if t not in used)  # the tiny base uses one type
    cut = tmp_path / "cut.yaml"
    cut.write_text(
        f"base: {TINY}\noverrides: {{fleet: {{{unused}: {{count: 0}}}}}}\n",  # no name
        encoding="utf-8",
    )
    out = tmp_path / "cmp"
    table = compare_scenarios(
        [TINY, cut], out, day=None, engine="pyvrp", time_limit_s=1, noise_seeds=2
    )
    plans = [json.loads((out / n / "plan.json").read_text("utf-8")) for n in ("scenario", "cut")]
    # the what-if is named as itself (its file name), not as its base "tiny"
    assert plans[1]["scenario"] == "cut" and "| 指标 metric | tiny | cut |" in table
    header = (out / "compare.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("scope,id,name,metric,label,tiny,cut,")
    assert {s["basis"] for d in plans[1]["days"] for s in d["stations"]} == {"reused"}
    assert plans[0]["kpis"] == [
        {**k, "name": plans[0]["kpis"][i]["name"]} for i, k in enumerate(plans[1]["kpis"])
    ]
    assert plans[0]["days"][0]["routes"] == plans[1]["days"][0]["routes"]
    md = (out / "compare.md").read_text(encoding="utf-8")
    assert "Noise band" in md and "2 seeds" in md
    with pytest.raises(ValueError, match="noise_seeds"):
        compare_scenarios([TINY, cut], out, day=None, engine="pyvrp", time_limit_s=1, noise_seeds=0)
