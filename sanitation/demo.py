"""``sanitation demo``: the bundled Wangjiang scenario, end to end as far as the project goes.

Today: validate the scenario, build its road network, snap every place, compute the
station × point travel matrices for each access class, and write a GeoPackage (points,
stations, villages, townships, disposal sites, depots, roads) and a map PNG. Outputs are
written to a temporary folder and renamed into place, so a failed run leaves nothing half-done.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
from rich.console import Console
from rich.table import Table

from geo.matrix import UNREACHABLE, travel_matrix
from sanitation.io.layers import scenario_layers
from sanitation.io.maps import scenario_map
from sanitation.scenario import load_scenario, summary_text
from sanitation.scenario.network import build_network, check_network, snap_scenario

logger = logging.getLogger(__name__)


def run_demo(scenario_path: Path, out: Path, *, console: Console) -> dict[str, object]:
    """Run the demo on ``scenario_path``; write outputs into ``out``; return the facts printed."""
    started = time.perf_counter()
    with console.status("loading and validating the scenario"):
        scenario = load_scenario(scenario_path)
    console.print(summary_text(scenario), markup=False, highlight=False)
    with console.status("building the road network and snapping places"):
        network = build_network(scenario)
        places = snap_scenario(scenario, network)
        check_network(scenario, places)
    console.print(
        f"road network: {network.number_of_nodes:,} nodes, {network.number_of_edges:,} "
        "directed edges (synthetic)"
    )
    facts: dict[str, object] = {
        "scenario": scenario.name,
        "points": len(scenario.points),
        "waste_t_per_day": round(scenario.total_waste_t_per_day, 2),
        "road_nodes": network.number_of_nodes,
        "road_edges": network.number_of_edges,
    }
    table = Table(title="station → collection point travel (fastest road path)")
    for column in ("access class", "matrix", "seconds", "reachable pairs", "median min", "max min"):
        table.add_column(column)
    matrices = {}
    for class_id, profile in places.profiles.items():
        t0 = time.perf_counter()
        matrix = travel_matrix(
            network,
            profile,
            places.stations[class_id].node_ids,
            places.points[class_id].node_ids,
            cache_dir=out.parent / ".cache" if out.parent != Path() else None,
        )
        elapsed = time.perf_counter() - t0
        ok = matrix.time_s < UNREACHABLE
        minutes = matrix.time_s[ok] / 60
        matrices[class_id] = matrix
        table.add_row(
            class_id,
            f"{matrix.time_s.shape[0]} × {matrix.time_s.shape[1]}",
            f"{elapsed:.2f}",
            f"{ok.mean():.1%}",
            f"{np.median(minutes):.1f}" if minutes.size else "-",
            f"{minutes.max():.1f}" if minutes.size else "-",
        )
        facts[f"matrix_{class_id}_seconds"] = round(elapsed, 3)
    console.print(table)

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=out.parent))
    try:
        layers = scenario_layers(scenario)
        _, edges = network.to_geodataframes()
        layers["roads"] = edges
        nearest = _nearest_station_layer(scenario, matrices[scenario.access_classes[-1].class_id])
        layers["points"] = layers["points"].join(nearest)
        gpkg = staging / "scenario.gpkg"
        for name, frame in layers.items():
            frame.to_file(gpkg, layer=name, driver="GPKG")
        boundary = gpd.read_file(scenario.boundary_path) if scenario.boundary_path else None
        scenario_map(layers, edges, staging / "map.png", title=scenario.name, boundary=boundary)
        facts["seconds"] = round(time.perf_counter() - started, 2)
        (staging / "demo.json").write_text(
            json.dumps(facts, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    console.print(
        f"wrote {out}/scenario.gpkg (layers: {', '.join(layers)}), {out}/map.png, "
        f"{out}/demo.json in {facts['seconds']} s"
    )
    return facts


def _nearest_station_layer(scenario, matrix) -> gpd.pd.DataFrame:
    """Per point: the nearest open station by travel time and that time (min), for the map."""
    import pandas as pd

    open_idx = [i for i, s in enumerate(scenario.stations) if s.status != "closed"]
    times = matrix.time_s[open_idx, :]
    best = np.argmin(times, axis=0)
    return pd.DataFrame(
        {
            "nearest_station": [scenario.stations[open_idx[b]].station_id for b in best],
            "nearest_station_min": np.round(times[best, np.arange(times.shape[1])] / 60, 1),
        }
    )
