"""``sanitation generate``: a synthetic county of any size (up to 20,000 points), seeded.

The county is a square of about 1 km² per collection point (Wangjiang has ~1,300 points on
1,323 km²) near Wangjiang's latitude, with ``n_stations`` townships (one existing station each),
villages of about eight points, candidate station sites, a waste-to-energy plant outside the
county and a landfill inside it. Every record is labelled ``synthetic``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import yaml
from shapely.geometry import box

from sanitation.errors import ScenarioError
from sanitation.scenario import synthesis
from sanitation.scenario.roads import make_synthetic_roads, write_roads

ORIGIN_LON, ORIGIN_LAT = 116.3, 30.0
MAX_POINTS = 20_000


def generate_county(out: Path, *, n_points: int, n_stations: int, seed: int) -> Path:
    """Write a valid synthetic scenario (YAML + CSV tables + roads) into ``out``.

    Returns
    -------
    Path
        The scenario YAML.

    Raises
    ------
    ScenarioError
        When the sizes are out of range.
    """
    if not 1 <= n_points <= MAX_POINTS:
        msg = f"--points: value {n_points}; expected 1..{MAX_POINTS}"
        raise ScenarioError(msg)
    if not 1 <= n_stations <= min(200, max(1, n_points // 4)):
        msg = (
            f"--stations: value {n_stations}; expected 1..{min(200, max(1, n_points // 4))}"
            " (at least four points per station)"
        )
        raise ScenarioError(msg)
    rng = np.random.default_rng(seed)
    projector = synthesis.Projector(ORIGIN_LON, ORIGIN_LAT)
    side_m = max(8000.0, math.sqrt(n_points) * 1000.0)
    x0, y0 = projector.xy(ORIGIN_LON, ORIGIN_LAT)
    lon_min, lat_min = projector.lonlat(x0, y0)
    lon_max, lat_max = projector.lonlat(x0 + side_m, y0 + side_m)
    boundary = box(lon_min, lat_min, lon_max, lat_max)

    tables = synthesis.CountyTables()
    cells = math.ceil(math.sqrt(n_stations))
    cell_m = side_m / cells
    for index in range(n_stations):
        row, col = divmod(index, cells)
        sx = x0 + (col + 0.5) * cell_m + rng.uniform(-0.2, 0.2) * cell_m
        sy = y0 + (row + 0.5) * cell_m + rng.uniform(-0.2, 0.2) * cell_m
        lon, lat = projector.lonlat(sx, sy)
        tables.townships.append(
            {
                "code": f"990{index + 1:06d}",
                "name": f"合成镇{index + 1}",
                "kind": "town_zhen",
                "seat_lon": lon,
                "seat_lat": lat,
                "synthetic": True,
                "source": "synthetic",
            }
        )
    n_villages = max(n_stations, math.ceil(n_points / 8))
    for index in range(n_villages):
        township = tables.townships[index % n_stations]
        ur_class = "121" if index < n_stations else "220"
        tables.villages.append(
            {
                "code": f"{township['code']}{index // n_stations + 1:03d}",
                "name": f"合成村{index + 1}",
                "township_code": township["code"],
                "urban_rural_class": ur_class,
                "lon": None,
                "lat": None,
                "synthetic": True,
                "source": "synthetic",
            }
        )
    population = round(n_points * synthesis.PEOPLE_PER_POINT_RURAL * 0.95)
    synthesis.spread_population(tables.villages, population)
    seats = {t["code"]: (t["seat_lon"], t["seat_lat"]) for t in tables.townships}
    synthesis.place_villages(tables.villages, seats, boundary, projector, rng)
    base, extra = divmod(n_points, n_villages)
    counts = [base + (1 if i < extra else 0) for i in range(n_villages)]
    tables.points = synthesis.make_points(tables.villages, boundary, projector, rng, counts=counts)
    groups = [
        (f"ST-{i + 1:03d}", f"{t['name']}转运站", t["code"], [t["code"]])
        for i, t in enumerate(tables.townships)
    ]
    tables.stations = synthesis.make_stations(
        groups,
        tables.villages,
        tables.points,
        boundary,
        projector,
        rng,
        n_candidates=max(1, n_stations // 4),
    )
    out_lon, out_lat = projector.lonlat(x0 + side_m * 1.3, y0 + side_m * 1.1)
    in_lon, in_lat = projector.lonlat(x0 + side_m * 0.55, y0 + side_m * 0.45)
    total = sum(p["waste_t_per_day"] for p in tables.points)
    tables.disposal_sites = [
        {
            "site_id": "WTE-1",
            "name": "合成焚烧发电厂",
            "kind": "wte",
            "lon": out_lon,
            "lat": out_lat,
            "capacity_t_per_day": float(math.ceil(total * 2)),
            "gate_open": "06:00",
            "gate_close": "22:00",
            "gate_fee_cny_per_t": 85.0,
            "unload_s": 900,
            "location_note": "synthetic, outside the county",
            "synthetic": True,
        },
        {
            "site_id": "LF-1",
            "name": "合成填埋场",
            "kind": "landfill",
            "lon": in_lon,
            "lat": in_lat,
            "capacity_t_per_day": float(math.ceil(total * 0.5)),
            "gate_open": "07:00",
            "gate_close": "18:00",
            "gate_fee_cny_per_t": 45.0,
            "unload_s": 600,
            "location_note": "synthetic",
            "synthetic": True,
        },
    ]
    roads = make_synthetic_roads(
        tables, boundary, seed=seed, external_points=[(out_lon, out_lat), (in_lon, in_lat)]
    )
    loads, narrow = synthesis.station_loads(tables.stations, tables.points, projector)
    tables.depots, tables.fleet = synthesis.make_depots_and_fleet(tables.stations, loads, narrow)
    tables.vehicle_types = [dict(v) for v in synthesis.VEHICLE_TYPES]

    data_dir = out / "data"
    files = synthesis.write_tables(tables, data_dir)
    write_roads(roads, data_dir / "roads.geojson")
    boundary_path = data_dir / "boundary.geojson"
    boundary_path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"name":"synthetic county"},"geometry":' + _geojson(boundary) + "}]}",
        encoding="utf-8",
    )
    document = {
        "name": f"synthetic county ({n_points} points, {n_stations} stations, seed {seed})",
        "description": "Generated by `sanitation generate`; every record is synthetic.",
        "date": "2026-11-27",
        "boundary": "data/boundary.geojson",
        "data": {name: f"data/{file}" for name, file in files.items()},
        "roads": {"source": "lines", "path": "data/roads.geojson", "max_snap_distance_m": 1500},
        "access_classes": [
            {"id": "small", "min_road_width_m": 2.5, "gross_weight_t": 7.5},
            {"id": "standard", "min_road_width_m": 3.5, "gross_weight_t": 18.0},
        ],
        "notes": ["Everything in this scenario is synthetic."],
    }
    path = out / "scenario.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _geojson(geometry: object) -> str:
    import json

    from shapely.geometry import mapping

    return json.dumps(mapping(geometry))
