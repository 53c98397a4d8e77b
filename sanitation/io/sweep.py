"""The files of a sweep (``sanitation sweep --out``): one row per combination of the grid.

``sweep.csv`` (UTF-8 with BOM) and ``sweep.md`` hold, per combination, its grid values, whether
it was planned, its cost in CNY/day and the cost's parts, km, collection truck-days, unserved
points, whether the plan passed the verifier and whether it lies on the Pareto front of cost
against unserved points; ``sweep.png`` charts cost against unserved points with the front
marked; ``plans/<name>.json`` holds each combination's whole plan (as ``plan.json``).
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt

from sanitation.io import charts
from sanitation.io.compare import county_row
from sanitation.io.plan_files import write_plan_json
from sanitation.plan.model import PlanDocument

#: the file by which a folder is recognised as an earlier sweep output (it may be replaced)
SWEEP_MARKERS = ("sweep.csv",)

COST_PARTS = charts.COST_PARTS  # (KPI field, label): the parts of the total cost


@dataclasses.dataclass(frozen=True)
class SweepRow:
    """One combination's results (per day of its plan; None where it has no plan)."""

    name: str
    settings: tuple[tuple[str, str], ...]
    overlay: str
    outcome: str
    reason: str = ""
    cost_cny_per_day: float | None = None
    parts_cny_per_day: tuple[tuple[str, float], ...] = ()
    distance_km: float | None = None
    truck_days: int | None = None
    points_served: int | None = None
    points_unserved: int | None = None
    verified: bool = False
    pareto: bool = False
    document: PlanDocument | None = dataclasses.field(default=None, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        name: str,
        settings: Sequence[tuple[str, str]],
        overlay: str,
        outcome: str,
        document: PlanDocument | None,
        reason: str = "",
    ) -> SweepRow:
        """The row of a combination's plan (``document``), or of its ``outcome`` without one.

        A plan that came back passed the verifier: `sanitation.plan.run.plan_days` verifies
        every route and transfer plan and returns none that fails.
        """
        if document is None:
            return cls(name, tuple(settings), overlay, outcome, reason)
        county = county_row(document)
        days = max(1, len(document.dates))
        return cls(
            name,
            tuple(settings),
            overlay,
            outcome,
            reason,
            cost_cny_per_day=round(county.total_cost_cny / days, 2),
            parts_cny_per_day=tuple(
                (field, round(getattr(county, field) / days, 2)) for field, _ in COST_PARTS
            ),
            distance_km=round(county.distance_km, 2),
            truck_days=county.trucks_used,
            points_served=county.points_served,
            points_unserved=county.points_unserved,
            verified=True,
            document=document,
        )


def pareto_names(rows: Sequence[SweepRow]) -> set[str]:
    """Names of the planned rows no other planned row dominates (cost and unserved points
    both no higher, one lower): the front of cost against service."""
    planned = [r for r in rows if r.cost_cny_per_day is not None and r.points_unserved is not None]

    def dominates(a: SweepRow, b: SweepRow) -> bool:
        ca, cb = float(a.cost_cny_per_day or 0), float(b.cost_cny_per_day or 0)
        ua, ub = int(a.points_unserved or 0), int(b.points_unserved or 0)
        return ca <= cb and ua <= ub and (ca < cb or ua < ub)

    return {b.name for b in planned if not any(dominates(a, b) for a in planned)}


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _columns(rows: Sequence[SweepRow]) -> list[str]:
    keys = [key for key, _ in rows[0].settings] if rows else []
    parts = [f"{field.removesuffix('_cny')}_cny_per_day" for field, _ in COST_PARTS]
    return [
        "combination",
        *keys,
        "status",
        "cost_cny_per_day",
        *parts,
        "distance_km",
        "truck_days",
        "points_served",
        "points_unserved",
        "verified",
        "pareto",
        "overlay",
    ]


def _values(row: SweepRow) -> list[object]:
    parts = dict(row.parts_cny_per_day)
    return [
        row.name,
        *[value for _, value in row.settings],
        row.outcome,
        row.cost_cny_per_day,
        *[parts.get(field) for field, _ in COST_PARTS],
        row.distance_km,
        row.truck_days,
        row.points_served,
        row.points_unserved,
        row.verified,
        row.pareto,
        row.overlay,
    ]


def write_sweep_csv(rows: Sequence[SweepRow], path: Path) -> Path:
    """One line per combination (UTF-8 with BOM; yes/no for verified and pareto)."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_columns(rows))
        for row in rows:
            writer.writerow(
                [
                    "" if v is None else ("yes" if v else "no") if isinstance(v, bool) else v
                    for v in _values(row)
                ]
            )
    return path


def write_sweep_markdown(rows: Sequence[SweepRow], path: Path, *, grid: Path, base: Path) -> Path:
    """The table, the Pareto front and why any combination has no plan."""
    columns = _columns(rows)
    front = [r.name for r in rows if r.pareto]
    text = [
        "# 方案扫描 (what-if sweep)",
        "",
        f"Base scenario: `{base}`; grid: `{grid}`; {len(rows)} combinations, each an overlay "
        "in `overlays/` that `sanitation plan` reruns alone (same --time-limit, --engine, "
        "--seed).",
        "Units: CNY per planned day, km, collection truck-days, points (point-visits due and not "
        "served). `verified`: the plan passed the independent verifier. `pareto`: no other "
        "combination is both no dearer and serves no fewer points.",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *["| " + " | ".join(_cell(v) for v in _values(row)) + " |" for row in rows],
        "",
        "## Pareto front (cost against unserved points)",
        "",
        ", ".join(front) if front else "(no combination was planned)",
        "",
    ]
    failed = [r for r in rows if r.outcome != "planned"]
    if failed:
        text += ["## Without a plan", ""]
        text += [f"- {r.name} ({r.outcome}): {r.reason}" for r in failed]
        text.append("")
    path.write_text("\n".join(text), encoding="utf-8")
    return path


def sweep_chart(rows: Sequence[SweepRow], path: Path) -> Path:
    """Cost (CNY/day) against unserved points, each combination labelled, the Pareto front
    drawn as a red step line."""
    charts.use_cjk_font()
    fig, ax = plt.subplots(figsize=(9, 6), dpi=110)
    planned = [r for r in rows if r.cost_cny_per_day is not None]
    for group, colour, label in (
        ([r for r in planned if not r.pareto], "#8c8c8c", "dominated"),
        ([r for r in planned if r.pareto], "#d6604d", "Pareto front"),
    ):
        ax.scatter(
            [r.points_unserved or 0 for r in group],
            [r.cost_cny_per_day or 0.0 for r in group],
            color=colour,
            label=label,
            zorder=3,
        )
    names_at: dict[tuple[int, float], list[str]] = {}
    for r in planned:  # one label per point: combinations with equal results share it
        names_at.setdefault((r.points_unserved or 0, r.cost_cny_per_day or 0.0), []).append(r.name)
    for (x, y), names in names_at.items():
        ax.annotate(", ".join(names), (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    front = sorted((r.points_unserved or 0, r.cost_cny_per_day or 0.0) for r in planned if r.pareto)
    if len(front) > 1:
        ax.step(
            [f[0] for f in front],
            [f[1] for f in front],
            where="post",
            color="#d6604d",
            linewidth=1.2,
            zorder=2,
        )
    missing = len(rows) - len(planned)
    title = "费用与服务 (cost against unserved points)"
    if missing:
        title += f"; {missing} combination(s) without a plan not shown"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("未收集点 unserved points")
    ax.set_ylabel("总费用 total cost (CNY/day)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def write_sweep_outputs(
    rows: Sequence[SweepRow], out: Path, *, grid: Path, base: Path
) -> list[SweepRow]:
    """Flag the Pareto front and write ``sweep.csv``, ``sweep.md``, ``sweep.png`` and
    ``plans/<name>.json`` into ``out``; return the rows as written."""
    front = pareto_names(rows)
    flagged = [dataclasses.replace(r, pareto=r.name in front) for r in rows]
    plans = out / "plans"
    plans.mkdir(parents=True, exist_ok=True)
    for row in flagged:
        if row.document is not None:
            write_plan_json(row.document, plans / f"{row.name}.json")
    write_sweep_csv(flagged, out / "sweep.csv")
    write_sweep_markdown(flagged, out / "sweep.md", grid=grid, base=base)
    sweep_chart(flagged, out / "sweep.png")
    return flagged


__all__ = [
    "SWEEP_MARKERS",
    "SweepRow",
    "pareto_names",
    "sweep_chart",
    "write_sweep_csv",
    "write_sweep_markdown",
    "write_sweep_outputs",
]
