"""Seeded generation of what public data does not give: village positions, collection points,
station and depot sites, disposal sites, fleet and roads. Everything made here carries
``synthetic=true`` in the tables it goes into.

Used by the Wangjiang builder (`sanitation.scenario.wangjiang`) on top of the real public data and
by the synthetic county generator (`sanitation.scenario.generate`). Distances are metres in the
county's UTM zone; the tables are WGS-84 lon/lat.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.crs import lonlat_to_xy, metric_crs, xy_to_lonlat

# Waste generation by 2016 NBS urban-rural class (kg/person/day). Rural villages (220, 123) take
# the national rural median 0.521 (韩智勇 et al. 2017); town centres and urban communities take
# values in the 0.7-1.1 range reported for 村镇 (李丹 et al. 2018). See source/parameters.csv.
KG_PER_PERSON_DAY = {
    "111": 0.9,
    "112": 0.85,
    "121": 0.8,
    "122": 0.7,
    "210": 0.7,
    "123": 0.521,
    "220": 0.521,
}
# Relative population weight of a village unit by class, used to spread the census county total.
POPULATION_WEIGHT = {
    "111": 2.6,
    "112": 2.0,
    "121": 1.8,
    "122": 1.4,
    "210": 1.4,
    "123": 0.8,
    "220": 1.0,
}
URBAN_CLASSES = {"111", "112", "121"}
BIN_240L_T = 0.240 * 0.263  # one 240-litre bin of loose waste at 263 kg/m3 (parameters.csv), t
PEOPLE_PER_POINT_RURAL = 450
PEOPLE_PER_POINT_URBAN = 350


@dataclass
class CountyTables:
    """The tables of a scenario as lists of row dicts (column names as in `specs`)."""

    townships: list[dict[str, Any]] = field(default_factory=list)
    villages: list[dict[str, Any]] = field(default_factory=list)
    points: list[dict[str, Any]] = field(default_factory=list)
    stations: list[dict[str, Any]] = field(default_factory=list)
    disposal_sites: list[dict[str, Any]] = field(default_factory=list)
    depots: list[dict[str, Any]] = field(default_factory=list)
    vehicle_types: list[dict[str, Any]] = field(default_factory=list)
    fleet: list[dict[str, Any]] = field(default_factory=list)


class Projector:
    """WGS-84 ⇄ metres in the UTM zone of a region."""

    def __init__(self, lon: float, lat: float) -> None:
        self.crs: CRS = metric_crs(lon, lat)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """Metres from lon/lat."""
        x, y = lonlat_to_xy(lon, lat, crs=self.crs)
        return float(x), float(y)

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        """Lon/lat (rounded to 6 decimals, ~0.1 m) from metres."""
        lon, lat = xy_to_lonlat(x, y, crs=self.crs)
        return round(float(lon), 6), round(float(lat), 6)

    def geometry(self, geom: BaseGeometry) -> BaseGeometry:
        """A lon/lat geometry in metres."""
        return shapely.transform(
            geom, lambda c: np.column_stack(lonlat_to_xy(c[:, 0], c[:, 1], crs=self.crs))
        )


def spread_population(villages: list[dict[str, Any]], total: int) -> None:
    """Set each village's ``population`` from ``total`` by urban-rural class weights (exact sum)."""
    weights = np.array([POPULATION_WEIGHT.get(v["urban_rural_class"], 1.0) for v in villages])
    shares = weights / weights.sum() * total
    counts = np.floor(shares).astype(int)
    remainder = total - int(counts.sum())
    for index in np.argsort(-(shares - counts))[:remainder]:
        counts[index] += 1
    for village, count in zip(villages, counts, strict=True):
        village["population"] = int(count)


def place_villages(
    villages: list[dict[str, Any]],
    seats: dict[str, tuple[float, float]],
    area: Polygon,
    projector: Projector,
    rng: np.random.Generator,
) -> None:
    """Give villages without ``lon``/``lat`` a synthetic position near their township seat.

    A village goes in the part of the boundary closer to its own seat than to any other (a
    Voronoi cell), at a distance that grows from urban communities to rural villages, at least
    500 m from other villages where possible.
    """
    area_m = projector.geometry(area).buffer(-300)
    seat_xy = {code: projector.xy(*lonlat) for code, lonlat in seats.items()}
    codes = list(seat_xy)
    seat_arr = np.array([seat_xy[c] for c in codes])
    placed = [projector.xy(v["lon"], v["lat"]) for v in villages if v.get("lon") is not None]
    for village in villages:
        if village.get("lon") is not None:
            continue
        cx, cy = seat_xy[village["township_code"]]
        urban = village["urban_rural_class"] in URBAN_CLASSES
        r_low, r_high = (300.0, 2000.0) if urban else (1200.0, 8000.0)
        best = None
        for attempt in range(400):
            radius = rng.uniform(r_low, r_high * (1 + attempt / 200))
            angle = rng.uniform(0, 2 * math.pi)
            x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
            if not area_m.contains(Point(x, y)):
                continue
            nearest = codes[int(np.argmin(np.hypot(seat_arr[:, 0] - x, seat_arr[:, 1] - y)))]
            if not urban and nearest != village["township_code"]:
                continue
            spacing = min((math.hypot(x - px, y - py) for px, py in placed), default=1e9)
            best = (x, y)
            if spacing >= 500 or attempt > 300:
                break
        if best is None:  # the seat itself is always a valid fallback
            best = (cx + rng.uniform(-200, 200), cy + rng.uniform(-200, 200))
        placed.append(best)
        village["lon"], village["lat"] = projector.lonlat(*best)
        village["synthetic"] = True


def make_points(
    villages: list[dict[str, Any]],
    area: Polygon,
    projector: Projector,
    rng: np.random.Generator,
    *,
    counts: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Collection points for each village: positions, waste, bins, frequency, windows, access.

    One point per about 450 rural or 350 urban residents; waste from population × the class's
    per-capita rate; bins sized for 1.5 × the waste accumulated between visits; urban points are
    emptied daily, rural ones every two days (remote ones twice a week); one urban point in ten
    is a market or school with an early time window. ``counts`` (one per village) overrides
    the number of points. Access classes come from the roads
    (`sanitation.scenario.roads`).
    """
    area_m = projector.geometry(area).buffer(-50)
    points: list[dict[str, Any]] = []
    for village_index, village in enumerate(villages):
        ur_class = village["urban_rural_class"]
        urban = ur_class in URBAN_CLASSES
        per_point = PEOPLE_PER_POINT_URBAN if urban else PEOPLE_PER_POINT_RURAL
        count = max(2, round(village["population"] / per_point))
        if counts is not None:
            count = counts[village_index]
        shares = rng.dirichlet(np.full(count, 4.0))
        rate = KG_PER_PERSON_DAY.get(ur_class, 0.521)
        vx, vy = projector.xy(village["lon"], village["lat"])
        for index in range(count):
            for _ in range(50):
                radius = rng.uniform(60, 500 if urban else 900)
                angle = rng.uniform(0, 2 * math.pi)
                x, y = vx + radius * math.cos(angle), vy + radius * math.sin(angle)
                if area_m.contains(Point(x, y)):
                    break
            else:
                x, y = vx, vy
            lon, lat = projector.lonlat(x, y)
            population = round(village["population"] * shares[index])
            waste_t = population * rate / 1000.0
            if urban or ur_class in {"122", "210"}:
                frequency, gap_days = "daily", 1.0
            elif rng.random() < 0.2:
                frequency, gap_days = "twice_weekly", 4.0
            else:
                frequency, gap_days = "every_2_days", 2.0
            bins = max(2, math.ceil(1.5 * waste_t * gap_days / BIN_240L_T))
            special = urban and rng.random() < 0.1
            points.append(
                {
                    "point_id": f"{village['code']}-{index + 1:02d}",
                    "name": f"{village['name']}{index + 1}号收集点",
                    "village_code": village["code"],
                    "lon": lon,
                    "lat": lat,
                    "waste_t_per_day": round(waste_t, 4),
                    "population": population,
                    "kg_per_person_day": rate,
                    "bin_capacity_t": round(bins * BIN_240L_T, 4),
                    "frequency": frequency,
                    "service_s": min(900, 60 + 25 * bins),
                    "tw_open": "05:00" if special else "",
                    "tw_close": "08:00" if special else "",
                    "access_class": "",  # set from the roads (lane spurs)
                    "priority": 3 if special else (2 if urban else 1),
                    "synthetic": True,
                }
            )
    return points


def _site_near(
    x: float, y: float, area_m: BaseGeometry, rng: np.random.Generator, low: float, high: float
) -> tuple[float, float]:
    for _ in range(200):
        radius, angle = rng.uniform(low, high), rng.uniform(0, 2 * math.pi)
        cx, cy = x + radius * math.cos(angle), y + radius * math.sin(angle)
        if area_m.contains(Point(cx, cy)):
            return cx, cy
    return x, y


def station_capacity_t(load_t: float) -> float:
    """Design capacity (t/day): 1.3 × the expected load, rounded up to 10 t, at least 20 t."""
    return float(max(20, math.ceil(1.3 * load_t / 10.0) * 10))


def make_stations(
    groups: list[tuple[str, str, str, list[str]]],
    villages: list[dict[str, Any]],
    points: list[dict[str, Any]],
    area: Polygon,
    projector: Projector,
    rng: np.random.Generator,
    *,
    n_candidates: int,
) -> list[dict[str, Any]]:
    """One existing station per group of townships and ``n_candidates`` candidate sites.

    ``groups``: (station id, station name, township code of the site, member township codes).
    Existing stations sit 0.5-2 km from the waste-weighted centre of their townships; their
    capacity is `station_capacity_t` of the load. Candidates go to the villages farthest from
    any existing station (spread apart), at 60 t/day, with the amortised opening cost of a small
    compression station (3 million CNY over 15 years ≈ 550 CNY/day).
    """
    area_m = projector.geometry(area).buffer(-200)
    village_xy = {v["code"]: projector.xy(v["lon"], v["lat"]) for v in villages}
    village_township = {v["code"]: v["township_code"] for v in villages}
    stations = []
    for station_id, name, township_code, members in groups:
        member_points = [p for p in points if village_township[p["village_code"]] in members]
        load = sum(p["waste_t_per_day"] for p in member_points)
        weights = np.array([p["waste_t_per_day"] for p in member_points]) + 1e-6
        xy = np.array([projector.xy(p["lon"], p["lat"]) for p in member_points])
        cx, cy = (xy * weights[:, None]).sum(axis=0) / weights.sum()
        sx, sy = _site_near(cx, cy, area_m, rng, 500, 2000)
        lon, lat = projector.lonlat(sx, sy)
        stations.append(
            _station_row(
                station_id,
                name,
                township_code,
                lon,
                lat,
                "existing",
                station_capacity_t(load),
                600.0,
                0.0,
            )
        )
    existing_xy = [projector.xy(s["lon"], s["lat"]) for s in stations]
    chosen: list[tuple[float, float]] = []
    for index in range(n_candidates):
        best_code, best_distance = None, -1.0
        for code, (vx, vy) in village_xy.items():
            distance = min(math.hypot(vx - sx, vy - sy) for sx, sy in existing_xy + chosen)
            if distance > best_distance:
                best_code, best_distance = code, distance
        if best_code is None:
            msg = "no villages to site candidate stations near; expected at least one village"
            raise ValueError(msg)
        vx, vy = village_xy[best_code]
        sx, sy = _site_near(vx, vy, area_m, rng, 300, 1000)
        chosen.append((sx, sy))
        lon, lat = projector.lonlat(sx, sy)
        township_code = village_township[best_code]
        stations.append(
            _station_row(
                f"ST-C{index + 1:02d}",
                f"候选转运站{index + 1}",
                township_code,
                lon,
                lat,
                "candidate",
                60.0,
                450.0,
                550.0,
            )
        )
    return stations


def _station_row(
    station_id: str,
    name: str,
    township_code: str,
    lon: float,
    lat: float,
    status: str,
    capacity: float,
    fixed: float,
    opening: float,
) -> dict[str, Any]:
    return {
        "station_id": station_id,
        "name": name,
        "township_code": township_code,
        "lon": lon,
        "lat": lat,
        "status": status,
        "capacity_t_per_day": capacity,
        "fixed_cost_cny_per_day": fixed,
        "opening_cost_cny_per_day": opening,
        "open": "05:00",
        "close": "19:00",
        "unload_s": 600,
        "expansion_module_t_per_day": 20.0,
        "expansion_cost_cny_per_day": 160.0,
        "max_expansions": 2,
        "container_t": 8.0,
        "synthetic": True,
    }


VEHICLE_TYPES: list[dict[str, Any]] = [
    {
        "type_id": "small_3t",
        "name": "小型压缩式收集车 3 t",
        "role": "collection",
        "capacity_t": 3.0,
        "access_class": "small",
        "fixed_cost_cny_per_day": 180.0,
        "cost_per_km_cny": 1.6,
        "cost_per_hour_cny": 40.0,
        "shift_start": "05:30",
        "shift_end": "15:30",
        "max_duration_h": 9.0,
        "lunch_duration_min": 30,
        "lunch_window_start": "11:00",
        "lunch_window_end": "13:00",
        "fuel_l_per_100km": 15.0,
    },
    {
        "type_id": "compactor_5t",
        "name": "压缩式收集车 5 t",
        "role": "collection",
        "capacity_t": 5.0,
        "access_class": "standard",
        "fixed_cost_cny_per_day": 260.0,
        "cost_per_km_cny": 2.2,
        "cost_per_hour_cny": 45.0,
        "shift_start": "05:30",
        "shift_end": "15:30",
        "max_duration_h": 9.0,
        "lunch_duration_min": 30,
        "lunch_window_start": "11:00",
        "lunch_window_end": "13:00",
        "fuel_l_per_100km": 22.0,
    },
    {
        "type_id": "hooklift_8t",
        "name": "勾臂式转运车 (8 t 箱)",
        "role": "transfer",
        "capacity_t": 8.0,
        "access_class": "standard",
        "fixed_cost_cny_per_day": 420.0,
        "cost_per_km_cny": 3.5,
        "cost_per_hour_cny": 50.0,
        "shift_start": "07:00",
        "shift_end": "19:00",
        "max_duration_h": 10.0,
        "lunch_duration_min": 45,
        "lunch_window_start": "11:30",
        "lunch_window_end": "13:30",
        "fuel_l_per_100km": 32.0,
    },
]


def make_depots_and_fleet(
    stations: list[dict[str, Any]],
    station_load_t: dict[str, float],
    narrow_share: dict[str, float],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A depot at every station and a fleet sized to the load of the existing ones.

    Collection trucks: load / (capacity × 2.5 loads a day) × 1.25 spare, split between small
    trucks (for the station's share of narrow-lane points, at least one) and 5 t compactors;
    hook-lift trucks: load / (8 t × 4 trips a day), at least one. Candidate stations get a depot
    with no trucks (a plan that opens one moves trucks there; a what-if may add some).
    """
    depots, fleet = [], []
    for station in stations:
        sid = station["station_id"]
        depot_id = f"D-{sid}"
        depots.append(
            {
                "depot_id": depot_id,
                "name": f"{station['name']}车场",
                "lon": station["lon"],
                "lat": station["lat"],
                "station_id": sid,
                "synthetic": True,
            }
        )
        load = station_load_t.get(sid, 0.0)
        small_load = load * narrow_share.get(sid, 0.0)
        small = max(1, math.ceil(1.25 * small_load / (3.0 * 2.5)))
        big = max(1, math.ceil(1.25 * (load - small_load) / (5.0 * 2.5)))
        hook = max(1, math.ceil(load / (8.0 * 4)))
        if station["status"] != "existing":
            small = big = hook = 0
        for type_id, count in (("small_3t", small), ("compactor_5t", big), ("hooklift_8t", hook)):
            fleet.append(
                {
                    "fleet_id": f"{depot_id}-{type_id}",
                    "depot_id": depot_id,
                    "type_id": type_id,
                    "count": count,
                }
            )
    return depots, fleet


def station_loads(
    stations: list[dict[str, Any]], points: list[dict[str, Any]], projector: Projector
) -> tuple[dict[str, float], dict[str, float]]:
    """Load (t/day) and narrow-lane share per existing station, assigning points to the nearest."""
    existing = [s for s in stations if s["status"] == "existing"]
    sxy = np.array([projector.xy(s["lon"], s["lat"]) for s in existing])
    load: dict[str, float] = {s["station_id"]: 0.0 for s in existing}
    narrow: dict[str, float] = {s["station_id"]: 0.0 for s in existing}
    for point in points:
        x, y = projector.xy(point["lon"], point["lat"])
        sid = existing[int(np.argmin(np.hypot(sxy[:, 0] - x, sxy[:, 1] - y)))]["station_id"]
        load[sid] += point["waste_t_per_day"]
        if point["access_class"] == "small":
            narrow[sid] += point["waste_t_per_day"]
    share = {sid: (narrow[sid] / load[sid] if load[sid] else 0.0) for sid in load}
    return load, share


TABLE_COLUMNS = {
    "townships": ["code", "name", "kind", "seat_lon", "seat_lat", "synthetic", "source"],
    "villages": [
        "code",
        "name",
        "township_code",
        "urban_rural_class",
        "population",
        "lon",
        "lat",
        "synthetic",
        "source",
    ],
    "points": [
        "point_id",
        "name",
        "village_code",
        "lon",
        "lat",
        "waste_t_per_day",
        "population",
        "kg_per_person_day",
        "bin_capacity_t",
        "frequency",
        "service_s",
        "tw_open",
        "tw_close",
        "access_class",
        "priority",
        "synthetic",
    ],
    "stations": [
        "station_id",
        "name",
        "township_code",
        "lon",
        "lat",
        "status",
        "capacity_t_per_day",
        "fixed_cost_cny_per_day",
        "opening_cost_cny_per_day",
        "open",
        "close",
        "unload_s",
        "expansion_module_t_per_day",
        "expansion_cost_cny_per_day",
        "max_expansions",
        "container_t",
        "synthetic",
    ],
    "disposal_sites": [
        "site_id",
        "name",
        "kind",
        "lon",
        "lat",
        "capacity_t_per_day",
        "gate_open",
        "gate_close",
        "gate_fee_cny_per_t",
        "unload_s",
        "location_note",
        "synthetic",
    ],
    "depots": ["depot_id", "name", "lon", "lat", "station_id", "synthetic"],
    "vehicle_types": [
        "type_id",
        "name",
        "role",
        "capacity_t",
        "access_class",
        "fixed_cost_cny_per_day",
        "cost_per_km_cny",
        "cost_per_hour_cny",
        "shift_start",
        "shift_end",
        "max_duration_h",
        "lunch_duration_min",
        "lunch_window_start",
        "lunch_window_end",
        "fuel_l_per_100km",
    ],
    "fleet": ["fleet_id", "depot_id", "type_id", "count"],
}


def write_tables(tables: CountyTables, folder: Path) -> dict[str, str]:
    """Write every table as UTF-8 CSV in ``folder``; return table name → file name."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for table, columns in TABLE_COLUMNS.items():
        rows = getattr(tables, table)
        file_name = f"{table}.csv"
        with (folder / file_name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({c: _cell(row.get(c)) for c in columns})
        names[table] = file_name
    return names


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return value
