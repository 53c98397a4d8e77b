"""PNG charts of a plan: the county map, station utilisation, and the what-if comparison.

Drawn with matplotlib (no tile server); Chinese names in Noto Sans CJK SC (`use_cjk_font`).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sanitation.plan.context import PlanningContext
from sanitation.plan.model import KpiRow, PlanDocument

ROAD_WIDTHS_PT = {"provincial": 1.0, "county": 0.8, "village": 0.5, "lane": 0.3}


def use_cjk_font() -> None:
    """Make matplotlib draw Chinese text with Noto Sans CJK SC (shipped by ``mplfonts``)."""
    import mplfonts

    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    if path.name not in {Path(f.fname).name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    plt.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False


def station_colours(station_ids: list[str]) -> dict[str, tuple]:
    """A distinct colour per station id (tab20, cycled)."""
    cmap = plt.get_cmap("tab20" if len(station_ids) > 10 else "tab10")
    return {sid: cmap(i % cmap.N) for i, sid in enumerate(station_ids)}


class _DrawnOnSave(FigureCanvasAgg):
    """An Agg canvas that draws only when its figure is saved: geopandas asks for a redraw
    after each layer it plots, which drew the whole map (every road and point so far) once per
    layer, most of the map's time on a large county."""

    def draw_idle(self, *args: object, **kwargs: object) -> None:
        """Nothing: the figure is drawn once, by ``savefig``."""


def _map_figure(figsize: tuple[float, float], dpi: int) -> tuple[Figure, Axes]:
    """A figure (outside pyplot: nothing to close) drawn only when saved, and its axes."""
    fig = Figure(figsize=figsize, dpi=dpi)
    _DrawnOnSave(fig)
    return fig, fig.subplots()


def plan_map(
    doc: PlanDocument,
    ctx: PlanningContext,
    layers: dict[str, gpd.GeoDataFrame],
    out: Path,
    day: dt.date | None = None,
) -> Path:
    """The county plan: roads, points coloured by station, stations, one day's routes
    (``day``, default the first planned date), its unserved points and transfer trips, sites.

    ``layers`` are the plan's GeoPackage layers (``roads``, ``points``, ``stations``,
    ``routes``, ``disposal_sites``).
    """
    use_cjk_font()
    fig, ax = _map_figure((11, 11), 120)
    roads = layers["roads"]
    if len(roads):
        widths = roads["road_class"].map(ROAD_WIDTHS_PT).fillna(0.4).to_numpy()
        roads.plot(ax=ax, color="#c8c8c8", linewidth=widths, zorder=1)
    stations = layers["stations"]
    open_ids = stations.loc[stations["open"].astype(bool), "station_id"].tolist()
    colours = station_colours(open_ids)
    points = layers["points"]
    grey = (0.6, 0.6, 0.6, 1.0)
    point_colours = [colours.get(s, grey) for s in points["station_id"]]
    shown = day or (doc.dates[0] if doc.dates else None)
    status = f"status_{shown:%Y%m%d}" if shown is not None else "status"
    unserved = points[status] == "unserved" if status in points else None
    points.plot(ax=ax, markersize=6, color=point_colours, zorder=3)
    handles: list = [
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            color=grey,
            markersize=4,
            label="收集点 collection point (颜色 = 转运站 colour = station)",
        )
    ]
    if unserved is not None and unserved.any():
        points[unserved].plot(
            ax=ax, markersize=40, facecolor="none", edgecolor="red", linewidth=1.0, zorder=4
        )
        handles.append(
            Line2D([], [], marker="o", ls="", mfc="none", mec="red", label="未收集 unserved")
        )
    routes = layers["routes"]
    if shown is not None and len(routes):
        today = routes[routes["date"] == shown.isoformat()]
        for sid, group in today.groupby("station_id"):
            group.plot(
                ax=ax, color=colours.get(str(sid), grey), linewidth=1.3, alpha=0.85, zorder=2
            )
    trips = layers.get("transfer_trips")
    if shown is not None and trips is not None and len(trips):
        today = trips[trips["date"] == shown.isoformat()]
        if len(today):
            unique = today.drop_duplicates(subset=["station_id", "site_id"])
            unique.plot(ax=ax, color="#542788", linewidth=1.0, linestyle="--", zorder=2)
            handles.append(
                Line2D([], [], color="#542788", lw=1, ls="--", label="转运 transfer trips")
            )
    names = dict(zip(stations["station_id"], stations["name"], strict=True))
    for sid in open_ids:
        handles.append(
            Line2D(
                [],
                [],
                color=colours[sid],
                marker="s",
                mec="black",
                lw=1.3,
                label=f"{names.get(sid, sid)} ({sid})",
            )
        )
    is_open = stations["open"].astype(bool)
    for sid, row in stations[is_open].set_index("station_id").iterrows():
        ax.scatter(
            [row.geometry.x],
            [row.geometry.y],
            s=110,
            marker="s",
            color=colours[str(sid)],
            edgecolors="black",
            zorder=5,
        )
    closed = stations[~is_open & (stations["status"] != "candidate")]
    if len(closed):
        closed.plot(ax=ax, marker="X", color="#555555", markersize=80, zorder=5)
        handles.append(
            Line2D([], [], marker="X", color="#555555", ls="", label="关闭站 station closed")
        )
    candidate = stations[~is_open & (stations["status"] == "candidate")]
    if len(candidate):
        candidate.plot(
            ax=ax, marker="s", facecolor="white", edgecolor="#555555", markersize=80, zorder=5
        )
        handles.append(
            Line2D(
                [],
                [],
                marker="s",
                mfc="white",
                mec="#555555",
                ls="",
                label="未启用候选站 candidate not opened",
            )
        )
    sites = layers["disposal_sites"]
    if len(sites):
        bounds = points.total_bounds if len(points) else sites.total_bounds
        mid_x = (bounds[0] + bounds[2]) / 2
        sites.plot(ax=ax, marker="*", color="#542788", markersize=220, zorder=6)
        for _, row in sites.iterrows():
            right = row.geometry.x > mid_x  # label towards the map's centre
            ax.annotate(
                str(row["name"]),
                (row.geometry.x, row.geometry.y),
                xytext=(-8 if right else 8, 6),
                textcoords="offset points",
                ha="right" if right else "left",
                fontsize=8,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
                zorder=7,
            )
        handles.append(
            Line2D(
                [],
                [],
                marker="*",
                color="#542788",
                ls="",
                markersize=12,
                label="处置场 disposal site",
            )
        )
    handles.append(Line2D([], [], color="#c8c8c8", lw=1, label="道路 road"))
    when = f" · {shown.isoformat()} 路线 (routes)" if shown else ""
    ax.set_title(
        f"{doc.scenario}: 收运规划 (collection plan){when}\n"
        "点按转运站着色 (points coloured by station); synthetic data where the scenario says so",
        fontsize=10,
    )
    ax.set_xlabel("经度 longitude (WGS-84)")
    ax.set_ylabel("纬度 latitude (WGS-84)")
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, framealpha=0.9
    )
    lat = float(points.geometry.y.mean()) if len(points) else 30.0
    ax.set_aspect(1 / max(0.2, math.cos(math.radians(lat))))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
    return out


def collected_t_per_day(doc: PlanDocument) -> dict[str, float]:
    """Station id → tonnes collected per planned day (the mean over the plan's days)."""
    total: dict[str, float] = {}
    for day in doc.days:
        for st in day.stations:
            total[st.station_id] = total.get(st.station_id, 0.0) + st.collected_kg / 1000
    return {k: v / max(1, len(doc.days)) for k, v in total.items()}


def truck_load_shares(doc: PlanDocument) -> dict[str, float]:
    """Vehicle id → kg collected ÷ (capacity × unloads) over all its routes of the plan."""
    kg: dict[str, list[float]] = {}
    for day in doc.days:
        for r in day.routes:
            pair = kg.setdefault(r.vehicle_id, [0.0, 0.0])
            pair[0] += r.collected_kg
            pair[1] += r.capacity_kg * max(1, r.n_unloads)
    return {v: (done / room if room else 0.0) for v, (done, room) in kg.items()}


def utilisation_chart(doc: PlanDocument, out: Path) -> Path:
    """Per open station: assigned load, collected and capacity in t/day with utilisation %;
    per truck: mean load per unload as a share of its capacity. Over a plan of several days
    "collected" is the mean per planned day and each truck's share covers all its days."""
    use_cjk_font()
    stations = [s for s in doc.assignment.stations if s.open]
    days = list(doc.days)
    collected, truck_shares = collected_t_per_day(doc), truck_load_shares(doc)
    if len(days) > 1:
        when = f"{days[0].date.isoformat()}…{days[-1].date.isoformat()}"
        collected_label = f"日均收集 collected, mean of {len(days)} days {when}"
    else:
        when = days[0].date.isoformat() if days else ""
        collected_label = f"当日收集 collected {when}"
    fig, (ax1, ax2) = plt.subplots(
        2, 1, figsize=(11, 9), dpi=110, gridspec_kw={"height_ratios": [1, 1.2]}
    )
    x = list(range(len(stations)))
    w = 0.27
    ax1.bar(
        [i - w for i in x],
        [s.load_t_per_day for s in stations],
        w,
        label="分配负荷 assigned load",
        color="#4393c3",
    )
    ax1.bar(
        x,
        [collected.get(s.station_id, 0.0) for s in stations],
        w,
        label=collected_label,
        color="#92c5de",
    )
    ax1.bar(
        [i + w for i in x],
        [s.capacity_t_per_day for s in stations],
        w,
        label="处理能力 capacity",
        color="#d6604d",
    )
    for i, s in enumerate(stations):
        ax1.annotate(
            f"{s.utilisation:.0%}", (i - w, s.load_t_per_day), ha="center", va="bottom", fontsize=8
        )
    ax1.set_xticks(
        x,
        [f"{s.name}\n({s.station_id})" for s in stations],
        fontsize=7,
        rotation=30 if len(stations) > 6 else 0,
    )
    ax1.set_xlim(-0.8, max(len(stations), 2) - 0.2)
    ax1.set_ylabel("t/day")
    ax1.set_title("转运站利用率 (station utilisation: load ÷ capacity)", fontsize=10)
    ax1.legend(fontsize=8)
    labels, shares = list(truck_shares), list(truck_shares.values())
    ax2.bar(range(len(labels)), [100 * s for s in shares], 0.6, color="#5aae61")
    ax2.set_xlim(-0.8, max(len(labels), 4) - 0.2)
    ax2.axhline(100, color="black", lw=0.8, ls="--")
    ax2.set_xticks(range(len(labels)), labels, fontsize=6, rotation=90)
    ax2.set_ylabel("% of capacity")
    ax2.set_title(
        "每车每趟平均装载率 (per truck: mean load per unload ÷ capacity)"
        + (f", {when}" if when else ""),
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out


COST_PARTS = [
    ("fixed_cost_cny", "固定 fixed"),
    ("distance_cost_cny", "里程 distance"),
    ("time_cost_cny", "时间 time"),
    ("transfer_cost_cny", "转运 transfer"),
    ("gate_fees_cny", "处置费 gate fees"),
    ("station_cost_cny", "转运站 stations"),
]


def compare_chart(
    names: list[str],
    counties: list[KpiRow],
    out: Path,
    *,
    cost_band: tuple[float, int] | None = None,
) -> Path:
    """Cost split (stacked), km, truck-days and unserved points per scenario, each labelled by
        its own name; ``cost_band`` = (spread in CNY, seeds) shades the base's noise band around its
        total cost, and names each scenario whose total lies within it "no significant change" (one
    equal to the baseline's "= baseline")."""
    use_cjk_font()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), dpi=110)
    x = list(range(len(names)))
    ax = axes[0][0]
    bottom = [0.0] * len(names)
    for field, label in COST_PARTS:
        values = [getattr(k, field) for k in counties]
        ax.bar(x, values, bottom=bottom, label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    base_total = counties[0].total_cost_cny
    for i, k in enumerate(counties):
        text = f"{k.total_cost_cny:,.0f}"
        if i > 0 and k.total_cost_cny == base_total:
            text += "\n(= baseline)"
        elif cost_band is not None and i > 0 and abs(k.total_cost_cny - base_total) <= cost_band[0]:
            text += "\n(no significant\nchange)"
        ax.annotate(text, (i, bottom[i]), ha="center", va="bottom", fontsize=7)
    if cost_band is not None:
        spread, seeds = cost_band
        ax.axhspan(
            base_total - spread,
            base_total + spread,
            color="#555555",
            alpha=0.35,
            zorder=3,
            label=f"噪声带 noise band (±{spread:,.0f} CNY, {seeds} seeds)",
        )
    ax.set_ylim(0, max([*bottom, 1.0]) * 1.35)
    ax.set_title("费用构成 (cost split, CNY; label = total)", fontsize=10)
    ax.legend(fontsize=7, ncol=3, loc="upper center")
    panels = [
        (axes[0][1], "distance_km", "里程 (distance, km)", "#4393c3"),
        (axes[1][0], "trucks_used", "用车 (collection truck-days)", "#5aae61"),
        (axes[1][1], "points_unserved", "未收集点 (unserved points)", "#d6604d"),
    ]
    for axis, field, title, colour in panels:
        values = [getattr(k, field) for k in counties]
        axis.bar(x, values, color=colour)
        for i, v in enumerate(values):
            axis.annotate(
                f"{v:,.0f}" if isinstance(v, int) else f"{v:,.1f}",
                (i, v),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        axis.set_title(title, fontsize=10)
    for axis in (axes[0][0], *[p[0] for p in panels]):
        axis.set_xticks(x, names, fontsize=8, rotation=20 if len(names) > 3 else 0)
    fig.suptitle("情景比较 (what-if comparison)", fontsize=12)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out
