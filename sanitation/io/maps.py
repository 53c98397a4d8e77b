"""Map PNGs of a scenario (and later of a plan) drawn with matplotlib, no tile server."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
from matplotlib import font_manager


def use_cjk_font() -> None:
    """Make matplotlib draw Chinese text with Noto Sans CJK SC (shipped by ``mplfonts``)."""
    import mplfonts

    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    if path.name not in {Path(f.fname).name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    plt.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False


ROAD_STYLE = {  # road_class: (colour, line width)
    "provincial": ("#b2182b", 1.6),
    "county": ("#ef8a62", 1.2),
    "village": ("#999999", 0.6),
    "lane": ("#1b7837", 0.4),
}


def scenario_map(
    layers: dict[str, gpd.GeoDataFrame],
    roads: gpd.GeoDataFrame | None,
    out: Path,
    *,
    title: str,
    boundary: gpd.GeoDataFrame | None = None,
) -> Path:
    """Draw boundary, roads by class, points by access class, stations and disposal sites."""
    use_cjk_font()
    fig, ax = plt.subplots(figsize=(10, 10), dpi=120)
    if boundary is not None:
        boundary.boundary.plot(ax=ax, color="black", linewidth=1.0)
    if roads is not None and len(roads):
        for road_class, (colour, width) in ROAD_STYLE.items():
            subset = roads[roads["road_class"] == road_class]
            if len(subset):
                subset.plot(ax=ax, color=colour, linewidth=width, label=f"road: {road_class}")
    points = layers["points"]
    small = points["access_class"] == "small"
    points[~small].plot(ax=ax, markersize=3, color="#2166ac", label="collection point")
    if small.any():
        points[small].plot(
            ax=ax,
            markersize=5,
            color="#1b7837",
            marker="^",
            label="point on a narrow lane (small trucks only)",
        )
    stations = layers["stations"]
    for status, colour in (
        ("existing", "#d6604d"),
        ("candidate", "#fdb863"),
        ("closed", "#878787"),
    ):
        subset = stations[stations["status"] == status]
        if len(subset):
            subset.plot(
                ax=ax,
                markersize=70,
                color=colour,
                marker="s",
                edgecolor="black",
                label=f"station ({status})",
            )
    layers["disposal_sites"].plot(
        ax=ax, markersize=110, color="#542788", marker="*", label="disposal site"
    )
    ax.set_title(title + "\n(synthetic where the data says so; not a survey map)", fontsize=10)
    ax.set_xlabel("longitude (WGS-84)")
    ax.set_ylabel("latitude (WGS-84)")
    ax.legend(loc="lower left", fontsize=7, framealpha=0.85)
    ax.set_aspect(1 / 0.866)  # about 1/cos(30°)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out
