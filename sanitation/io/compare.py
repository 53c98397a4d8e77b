"""Side-by-side KPIs of several plans (``sanitation compare --out``).

``compare.md`` and ``compare.csv`` (UTF-8 with BOM) hold the county KPIs of each scenario, with
the change against the first scenario (absolute and %), then per-station totals and which
stations each what-if changed, and (base with territories) how many points changed truck;
``truck_changes.json`` lists them; ``compare.png`` charts the cost split, km, truck-days and
unserved points. Scenarios are labelled by their own names.

With a `NoiseBand` (the spread of the base's routing KPIs over a few seeds), a change whose size
is within the band reads "no significant change" (markdown), ``significant`` is False (CSV),
and the chart shades the band around the base's total cost.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    ("station_cost_cny", "转运站费用 station cost (CNY)"),
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


NO_SIGNIFICANT_CHANGE = "no significant change"


@dataclass(frozen=True)
class NoiseBand:
    """The base's seed-to-seed spread (max - min) by (scope, id, metric), over ``seeds``."""

    seeds: tuple[int, ...]
    spread: Mapping[tuple[str, str, str], float] = field(default_factory=dict)

    def of(self, scope: str, id_: str, metric: str) -> float | None:
        """The spread of one metric (None: not measured, or a single seed)."""
        if len(self.seeds) < 2:
            return None
        return self.spread.get((scope, id_, metric))


@dataclass(frozen=True)
class CompareRow:
    """One metric of one scope across scenarios, with deltas against the first scenario and
    the base's noise band (None: not measured)."""

    scope: str
    id: str
    name: str
    metric: str
    label: str
    values: tuple[float | None, ...]
    band: float | None = None

    def significant(self, index: int) -> bool | None:
        """Whether ``values[index]`` differs from the base by more than the noise band (None:
        not comparable, or no band)."""
        delta = self.delta(index)
        if delta is None or self.band is None:
            return None
        return abs(delta) > self.band + 1e-9

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


def compare_rows(
    names: list[str], docs: list[PlanDocument], noise: NoiseBand | None = None
) -> list[CompareRow]:
    """County metrics, then per-station metrics for every station of any scenario."""
    if len(names) != len(docs) or not docs:
        msg = "compare needs one name per plan and at least one plan"
        raise ValueError(msg)
    noise = noise or NoiseBand(seeds=())
    counties = [county_row(d) for d in docs]
    base = counties[0]
    rows = [
        CompareRow(
            "county",
            base.id,
            base.name,
            f,
            label,
            tuple(getattr(c, f) for c in counties),
            noise.of("county", "county", f),
        )
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
            band = noise.of("station", sid, f)
            rows.append(CompareRow("station", sid, stations[sid], f, label, values, band))
    return rows


def station_bases(doc: PlanDocument) -> dict[str, str]:
    """Per station: where its routes come from over the plan's days (``StationDayOut.basis``):
    the one basis of all its days, or ``mixed``."""
    seen: dict[str, set[str]] = defaultdict(set)
    for day in doc.days:
        for station in day.stations:
            seen[station.station_id].add(station.basis)
    return {sid: next(iter(b)) if len(b) == 1 else "mixed" for sid, b in seen.items()}


BASIS_TEXT = {
    "reused": "unchanged (base's routes reused)",
    "warm_started": "changed (re-solved from the base's routes)",
    "base_kept": "changed problem, base's routes kept (no worse)",
    "solved": "changed (solved afresh)",
    "mixed": "partly changed",
}


def _changed_table(names: list[str], docs: list[PlanDocument]) -> list[str]:
    """Which stations each what-if changed (a station in one plan only is new or gone)."""
    bases = [station_bases(d) for d in docs]
    stations = sorted(set().union(*bases))
    lines = [
        "| 转运站 station | " + " | ".join(names[1:]) + " |",
        "|" + "---|" * len(names),
    ]
    for sid in stations:
        cells = []
        for b in bases[1:]:
            if sid not in b:
                cells.append("not in this plan")
            elif sid not in bases[0]:
                cells.append("new (not in the base)")
            else:
                cells.append(BASIS_TEXT.get(b[sid], b[sid]))
        lines.append(f"| {sid} | " + " | ".join(cells) + " |")
    return lines


def _truck_table(names: list[str], docs: list[PlanDocument]) -> list[str]:
    """Per what-if: how many points left their base territory's truck, by reason (the ids are
    in ``truck_changes.json``)."""
    lines = [
        "Points whose territory's truck differs from the base plan's (ids and reasons in "
        "`truck_changes.json`); every other point kept its base territory.",
        "",
        "| 情景 what-if | 换车点数 points | 原因 reasons |",
        "|---|---|---|",
    ]
    for name, doc in zip(names[1:], docs[1:], strict=True):
        if doc.consistency is None:
            lines.append(f"| {name} | – | no territories (policy.consistency: none) |")
            continue
        why = Counter(c.reason for c in doc.consistency.truck_changes)
        reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(why.items())) or "–"
        lines.append(f"| {name} | {len(doc.consistency.truck_changes)} | {reasons} |")
    return lines


def write_truck_changes(names: list[str], docs: list[PlanDocument], path: Path) -> Path:
    """``truck_changes.json``: per what-if, the points whose territory's truck differs from the
    base plan's (point, base truck, truck now, reason); null for a plan without territories."""
    what_ifs = []
    for name, doc in zip(names[1:], docs[1:], strict=True):
        changes = None if doc.consistency is None else doc.consistency.truck_changes
        what_ifs.append(
            {
                "scenario": name,
                "count": None if changes is None else len(changes),
                "points": None if changes is None else [c.model_dump() for c in changes],
            }
        )
    body = {"base": names[0], "what_ifs": what_ifs}
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, int) or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3f}" if abs(value) < 1 else f"{value:,.2f}"


def _change(delta: float | None, pct: float | None, significant: bool | None = None) -> str:
    """``+4,330 (+50.0 %)``; ``0`` when nothing changed; ``–`` when not comparable; a change
    within the noise band is followed by "no significant change"."""
    if delta is None:
        return "–"
    if delta == 0:
        return "0"
    text = ("+" if delta > 0 else "") + _fmt(delta)
    text = text if pct is None else f"{text} ({pct:+.1f} %)"
    return f"{text}: {NO_SIGNIFICANT_CHANGE}" if significant is False else text


def write_compare_markdown(
    names: list[str],
    docs: list[PlanDocument],
    rows: list[CompareRow],
    path: Path,
    noise: NoiseBand | None = None,
) -> Path:
    """Markdown tables: county KPIs and per-station totals with deltas against ``names[0]``
    (and the noise band), then which stations each what-if changed."""
    banded = noise is not None and len(noise.seeds) > 1
    head = ["指标 metric", *names] + [f"Δ {n} (Δ%)" for n in names[1:]]
    head += ["噪声带 noise band"] if banded else []

    def table(subset: list[CompareRow], with_scope: bool) -> list[str]:
        cols = (["转运站 station"] if with_scope else []) + head
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in subset:
            cells = [r.label, *[_fmt(v) for v in r.values]]
            cells += [
                _change(r.delta(i), r.delta_pct(i), r.significant(i)) for i in range(1, len(names))
            ]
            if banded:
                cells.append("–" if r.band is None else f"±{_fmt(r.band)}")
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
        *(_band_text(noise) if noise is not None and banded else []),
        "",
        "## 全县 (county)",
        "",
        *table([r for r in rows if r.scope == "county"], with_scope=False),
        "",
    ]
    station_rows = [r for r in rows if r.scope == "station"]
    if station_rows:
        text += ["## 转运站 (per station)", "", *table(station_rows, with_scope=True), ""]
    if len(names) > 1:
        text += ["## 变化的转运站 (stations changed)", "", *_changed_table(names, docs), ""]
    if len(names) > 1 and docs[0].consistency is not None:
        text += ["## 换车的点 (points that changed truck)", "", *_truck_table(names, docs), ""]
    path.write_text("\n".join(text), encoding="utf-8")
    return path


def _band_text(noise: NoiseBand) -> list[str]:
    seeds = ", ".join(str(s) for s in noise.seeds)
    return [
        f"Noise band: the spread (max − min) of the baseline's collection-routing KPIs when "
        f"its routes are solved with {len(noise.seeds)} seeds ({seeds}); a change no larger "
        f"than the band reads “{NO_SIGNIFICANT_CHANGE}” (transfer trips and gate fees are not "
        "re-solved, so their rows have no band)."
    ]


def write_compare_csv(
    names: list[str],
    rows: list[CompareRow],
    path: Path,
    docs: list[PlanDocument] | None = None,
    noise: NoiseBand | None = None,
) -> Path:
    """Long-form CSV (UTF-8 with BOM): one row per scope and metric, scenario columns, deltas,
    the noise band (``noise_band``, with the seeds in its header) and whether each delta
    exceeds it (``significant``; empty: no band); then, with ``docs``, one ``basis`` row per
    station (where its routes come from in each plan)."""
    seeds = "" if noise is None else " ".join(str(s) for s in noise.seeds)
    header = ["scope", "id", "name", "metric", "label", *names]
    header += [f"noise_band (seeds {seeds})" if seeds else "noise_band"]
    for n in names[1:]:
        header += [f"delta {n}", f"delta_pct {n}", f"significant {n}"]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for r in rows:
            line: list = [r.scope, r.id, r.name, r.metric, r.label, *r.values, r.band]
            for i in range(1, len(names)):
                pct = r.delta_pct(i)
                line += [r.delta(i), None if pct is None else round(pct, 2), r.significant(i)]
            writer.writerow(["" if v is None else v for v in line])
        bases = [station_bases(d) for d in docs or []]
        for sid in sorted(set().union(*bases)) if bases else []:
            label = "路线来源 where the routes come from"
            writer.writerow(["station", sid, "", "basis", label, *[b.get(sid, "") for b in bases]])
    return path


def write_compare_outputs(
    names: list[str], docs: list[PlanDocument], out: Path, *, noise: NoiseBand | None = None
) -> list[Path]:
    """Write ``compare.md``, ``compare.csv`` and ``compare.png`` into ``out`` (and
    ``truck_changes.json`` when the base plan has territories).

    Parameters
    ----------
    names
        Scenario labels, the first is the baseline of the deltas.
    docs
        One plan per name, each with a county KPI row.
    out
        The folder to write into (created if needed).
    noise
        The base's noise band (None: deltas without one).

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
    rows = compare_rows(names, docs, noise)
    cost_band = next(
        (r.band for r in rows if r.scope == "county" and r.metric == "total_cost_cny"), None
    )
    seeds = len(noise.seeds) if noise is not None else 0
    territorial = len(docs) > 1 and docs[0].consistency is not None
    return [
        *([write_truck_changes(names, docs, out / "truck_changes.json")] if territorial else []),
        write_compare_markdown(names, docs, rows, out / "compare.md", noise),
        write_compare_csv(names, rows, out / "compare.csv", docs, noise),
        charts.compare_chart(
            names,
            [county_row(d) for d in docs],
            out / "compare.png",
            cost_band=(cost_band, seeds) if cost_band is not None else None,
        ),
    ]
