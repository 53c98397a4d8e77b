"""Side-by-side KPIs of several plans (``sanitation compare --out``).

``compare.md`` and ``compare.csv`` (UTF-8 with BOM) hold the county KPIs of each scenario, with
the change against the first scenario (absolute and %), then per-station totals; ``compare.png``
charts the cost split, km, truck-days and unserved points.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sanitation.io import charts
from sanitation.plan.model import KpiRow, PlanDocument

COUNTY_METRICS = [  # field, label (unit)
    ("collected_t", "收集量 collected (t)"),
    ("points_due", "应收点次 points due"),
    ("points_served", "已收点次 points served"),
    ("points_unserved", "未收点次 points unserved"),
    ("trucks_used", "用车 collection truck-days"),
    ("distance_km", "里程 distance (km)"),
    ("driver_hours_h", "司机工时 driver hours (h)"),
    ("fixed_cost_cny", "固定费用 fixed cost (CNY)"),
    ("distance_cost_cny", "里程费用 distance cost (CNY)"),
    ("time_cost_cny", "时间费用 time cost (CNY)"),
    ("transfer_cost_cny", "转运费用 transfer cost (CNY)"),
    ("gate_fees_cny", "处置费 gate fees (CNY)"),
    ("total_cost_cny", "总费用 total cost (CNY)"),
    ("co2_kg", "CO2 (kg)"),
    ("truck_capacity_share", "车辆装载率 truck capacity share"),
]
STATION_METRICS = [
    ("collected_t", "收集量 collected (t)"),
    ("trucks_used", "用车 truck-days"),
    ("distance_km", "里程 distance (km)"),
    ("total_cost_cny", "总费用 total cost (CNY)"),
    ("station_utilisation", "利用率 utilisation"),
]


@dataclass(frozen=True)
class CompareRow:
    """One metric of one scope across scenarios, with deltas against the first scenario."""

    scope: str
    id: str
    name: str
    metric: str
    label: str
    values: tuple[float | None, ...]

    def delta(self, index: int) -> float | None:
        """``values[index] - values[0]`` (None if either is missing; floats to 4 decimals)."""
        base, value = self.values[0], self.values[index]
        if base is None or value is None:
            return None
        delta = value - base
        return delta if isinstance(delta, int) else round(delta, 4)

    def delta_pct(self, index: int) -> float | None:
        """The delta in % of the first value (None if that is 0 or missing)."""
        delta, base = self.delta(index), self.values[0]
        return None if delta is None or not base else 100.0 * delta / base


def county_row(doc: PlanDocument) -> KpiRow:
    """The county KPI row of a plan."""
    for row in doc.kpis:
        if row.scope == "county":
            return row
    msg = f"plan of {doc.scenario!r} has no county KPI row"
    raise ValueError(msg)


def compare_rows(names: list[str], docs: list[PlanDocument]) -> list[CompareRow]:
    """County metrics, then per-station metrics for every station of any scenario."""
    if len(names) != len(docs) or not docs:
        msg = "compare needs one name per plan and at least one plan"
        raise ValueError(msg)
    counties = [county_row(d) for d in docs]
    base = counties[0]
    rows = [
        CompareRow("county", base.id, base.name, f, label, tuple(getattr(c, f) for c in counties))
        for f, label in COUNTY_METRICS
    ]
    stations: dict[str, str] = {}
    per_doc = []
    for doc in docs:
        table = {k.id: k for k in doc.kpis if k.scope == "station"}
        per_doc.append(table)
        for k in table.values():
            stations.setdefault(k.id, k.name)
    for sid in sorted(stations):
        for f, label in STATION_METRICS:
            values = tuple(getattr(t[sid], f) if sid in t else None for t in per_doc)
            rows.append(CompareRow("station", sid, stations[sid], f, label, values))
    return rows


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, int) or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3f}" if abs(value) < 1 else f"{value:,.2f}"


def _change(delta: float | None, pct: float | None) -> str:
    """``+4,330 (+50.0 %)``; ``0`` when nothing changed; ``–`` when not comparable."""
    if delta is None:
        return "–"
    if delta == 0:
        return "0"
    text = ("+" if delta > 0 else "") + _fmt(delta)
    return text if pct is None else f"{text} ({pct:+.1f} %)"


def write_compare_markdown(
    names: list[str], docs: list[PlanDocument], rows: list[CompareRow], path: Path
) -> Path:
    """Markdown tables: county KPIs and per-station totals with deltas against ``names[0]``."""
    head = ["指标 metric", *names] + [f"Δ {n} (Δ%)" for n in names[1:]]

    def table(subset: list[CompareRow], with_scope: bool) -> list[str]:
        cols = (["转运站 station"] if with_scope else []) + head
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in subset:
            cells = [r.label, *[_fmt(v) for v in r.values]]
            cells += [_change(r.delta(i), r.delta_pct(i)) for i in range(1, len(names))]
            if with_scope:
                cells = [f"{r.name} ({r.id})", *cells]
            lines.append("| " + " | ".join(cells) + " |")
        return lines

    dates = ", ".join(
        f"{n}: {d.dates[0].isoformat()}"
        + (f" … {d.dates[-1].isoformat()} ({len(d.dates)} days)" if len(d.dates) > 1 else "")
        for n, d in zip(names, docs, strict=True)
        if d.dates
    )
    text = [
        "# 情景比较 (what-if comparison)",
        "",
        f"Baseline for the deltas: **{names[0]}**. Dates planned: {dates}.",
        "Units: t, km, h, CNY, kg CO2; shares as fractions (0–1).",
        "",
        "## 全县 (county)",
        "",
        *table([r for r in rows if r.scope == "county"], with_scope=False),
        "",
    ]
    station_rows = [r for r in rows if r.scope == "station"]
    if station_rows:
        text += ["## 转运站 (per station)", "", *table(station_rows, with_scope=True), ""]
    path.write_text("\n".join(text), encoding="utf-8")
    return path


def write_compare_csv(names: list[str], rows: list[CompareRow], path: Path) -> Path:
    """Long-form CSV (UTF-8 with BOM): one row per scope and metric, scenario columns, deltas."""
    header = ["scope", "id", "name", "metric", "label", *names]
    for n in names[1:]:
        header += [f"delta {n}", f"delta_pct {n}"]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for r in rows:
            line: list = [r.scope, r.id, r.name, r.metric, r.label, *r.values]
            for i in range(1, len(names)):
                pct = r.delta_pct(i)
                line += [r.delta(i), None if pct is None else round(pct, 2)]
            writer.writerow(["" if v is None else v for v in line])
    return path


def write_compare_outputs(names: list[str], docs: list[PlanDocument], out: Path) -> list[Path]:
    """Write ``compare.md``, ``compare.csv`` and ``compare.png`` into ``out``.

    Parameters
    ----------
    names
        Scenario labels, the first is the baseline of the deltas.
    docs
        One plan per name, each with a county KPI row.
    out
        The folder to write into (created if needed).

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    ValueError
        Names and plans differ in number, or a plan has no county KPI row.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = compare_rows(names, docs)
    return [
        write_compare_markdown(names, docs, rows, out / "compare.md"),
        write_compare_csv(names, rows, out / "compare.csv"),
        charts.compare_chart(names, [county_row(d) for d in docs], out / "compare.png"),
    ]
