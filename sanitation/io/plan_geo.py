"""A plan's geometry: route lines along the roads, visit points, transfer trips, assignment lines,
as GeoDataFrames (EPSG:4326, lon/lat) for the GeoPackage, GeoJSON and maps.

Route lines follow the fastest road path usable by the route's truck (its type's access class)
between snapped nodes, of equally fast paths the shortest: the path whose length the plan's
``distance_m`` counts (`geo.matrix.route_nodes`, a search bounded near the leg); legs are
cached by ``(class, from_node, to_node)``. A leg without a usable
path (it should not happen for a verified plan) is drawn as a straight line and logged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, Point

from geo.errors import GeoInputError
from geo.matrix import route_geometry
from sanitation.plan.context import PlanningContext
from sanitation.plan.model import PlanDocument, RouteOut, TransferTruckOut
from sanitation.scenario.model import split_stop_id

logger = logging.getLogger(__name__)

CRS = "EPSG:4326"


def hhmm(seconds: int | None) -> str:
    """Seconds after midnight as ``HH:MM`` (empty for None; past midnight stays > 24)."""
    if seconds is None:
        return ""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _frame(rows: list[dict], geometry: list, columns: list[str]) -> gpd.GeoDataFrame:
    """A GeoDataFrame with fixed columns (also when empty) in EPSG:4326."""
    if not rows:
        return gpd.GeoDataFrame(
            {c: [] for c in columns}, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS
        )
    return gpd.GeoDataFrame(rows, columns=columns, geometry=geometry, crs=CRS)


@dataclass
class PlanGeometry:
    """Road geometries of one plan's legs, computed once and cached.

    Parameters
    ----------
    ctx
        The planning context the plan was made with (network, snapped places, classes).
    """

    ctx: PlanningContext
    _legs: dict[tuple[str, int, int], LineString] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        scenario = self.ctx.scenario
        self._point = {p.point_id: i for i, p in enumerate(scenario.points)}
        self._station = {s.station_id: i for i, s in enumerate(scenario.stations)}
        self._depot = {d.depot_id: i for i, d in enumerate(scenario.depots)}
        self._site = {s.site_id: i for i, s in enumerate(scenario.disposal_sites)}
        self._facility = {f.facility_id: i for i, f in enumerate(scenario.facilities)}
        self._types = {v.type_id: v for v in scenario.vehicle_types}
        self._coords: dict[tuple[str, str], tuple[float, float]] = {}
        for kind, records, key in (
            ("point", scenario.points, "point_id"),
            ("station", scenario.stations, "station_id"),
            ("depot", scenario.depots, "depot_id"),
            ("site", scenario.disposal_sites, "site_id"),
            ("facility", scenario.facilities, "facility_id"),
        ):
            for r in records:
                self._coords[(kind, getattr(r, key))] = (r.lon, r.lat)

    # -- places ------------------------------------------------------------------------------
    def route_class(self, vehicle_type: str) -> str:
        """Access class of a vehicle type (the largest class for an unknown type)."""
        vtype = self._types.get(vehicle_type)
        return vtype.access_class if vtype is not None else self.ctx.classes[-1]

    def transfer_class(self, truck_id: str) -> str:
        """Access class of hook-lift truck ``station/type#n`` (first transfer type if unknown)."""
        type_id = truck_id.split("/", 1)[-1].split("#", 1)[0]
        vtype = self._types.get(type_id)
        if vtype is not None:
            return vtype.access_class
        transfer = [v for v in self._types.values() if v.role == "transfer"]
        return transfer[0].access_class if transfer else self.ctx.classes[-1]

    def _place(self, class_id: str, kind: str, place_id: str) -> tuple[int, tuple[float, float]]:
        """Snapped node (-1 if none) and lon/lat of a place."""
        places = self.ctx.places
        table, index = {
            "point": (places.points, self._point),
            "station": (places.stations, self._station),
            "depot": (places.depots, self._depot),
            "site": (places.disposal_sites, self._site),
            "facility": (places.facilities, self._facility),
        }[kind]
        snapped = table.get(class_id)
        node = -1
        if snapped is not None and place_id in index:
            node = int(snapped.node_ids[index[place_id]])
        return node, self._coords[(kind, place_id)]

    def _visit_place(self, kind: str, visit_id: str) -> tuple[str, str]:
        """(place kind, place id) of a visit: a stop's point (``point@stream`` sorted), or the
        station or facility of an unload."""
        if kind == "stop":
            return "point", split_stop_id(visit_id)[0]
        return ("facility" if visit_id in self._facility else "station"), visit_id

    def _depot_kind(self, depot_id: str) -> str:
        return "depot" if depot_id in self._depot else "station"

    # -- legs --------------------------------------------------------------------------------
    def leg(
        self,
        class_id: str,
        start: tuple[int, tuple[float, float]],
        end: tuple[int, tuple[float, float]],
    ) -> LineString:
        """Road path between two snapped places (straight line if there is none)."""
        (a, pa), (b, pb) = start, end
        if a < 0 or b < 0:
            return LineString([pa, pb])
        key = (class_id, a, b)
        cached = self._legs.get(key)
        if cached is None:
            try:
                cached = route_geometry(
                    self.ctx.places.network, self.ctx.places.profiles[class_id], a, b
                )
            except GeoInputError as exc:
                logger.warning("drawing a straight leg: %s", exc)
                cached = LineString([pa, pb])
            self._legs[key] = cached
        return cached

    def route_line(self, route: RouteOut) -> LineString:
        """Depot → visits → depot along the roads usable by the route's truck."""
        class_id = self.route_class(route.vehicle_type)
        depot = self._place(class_id, self._depot_kind(route.depot_id), route.depot_id)
        stops = [self._place(class_id, *self._visit_place(v.kind, v.id)) for v in route.visits]
        chain = [depot, *stops, depot]
        return _join([self.leg(class_id, s, e) for s, e in itertools.pairwise(chain)])

    def transfer_line(
        self, truck_id: str, station_id: str, site_id: str, facility_id: str = ""
    ) -> LineString:
        """Station (or a facility sending its excess on) → disposal site (or a sorted stream's
        facility) along the roads usable by the hook-lift truck."""
        class_id = self.transfer_class(truck_id)
        start = ("facility", facility_id) if facility_id else ("station", station_id)
        return self.leg(
            class_id,
            self._place(class_id, *start),
            self._place(class_id, "facility" if site_id in self._facility else "site", site_id),
        )


def _join(parts: list[LineString]) -> LineString:
    coords: list[tuple[float, float]] = []
    for part in parts:
        pts = list(part.coords)
        if coords and pts and coords[-1] == pts[0]:
            pts = pts[1:]
        coords.extend(pts)
    if len(coords) < 2:
        coords = coords * 2 if coords else [(0.0, 0.0), (0.0, 0.0)]
    return LineString(coords)


# -- layers --------------------------------------------------------------------------------
ROUTE_COLUMNS = [
    "route_id",
    "date",
    "station_id",
    "depot_id",
    "vehicle_id",
    "vehicle_type",
    "vehicle_type_name",
    "capacity_kg",
    "distance_m",
    "duration_s",
    "collected_kg",
    "n_stops",
    "n_unloads",
    "cost_cny",
    "depot_departure",
    "depot_return",
    "lunch_start",
]

VISIT_COLUMNS = [
    "route_id",
    "date",
    "station_id",
    "vehicle_id",
    "order",
    "kind",
    "id",
    "name",
    "arrival",
    "start",
    "departure",
    "load_kg",
    "load_after_kg",
]


def route_properties(route: RouteOut) -> dict:
    """The properties of a route line (times as HH:MM)."""
    return {
        "route_id": route.route_id,
        "date": route.date.isoformat(),
        "station_id": route.station_id,
        "depot_id": route.depot_id,
        "vehicle_id": route.vehicle_id,
        "vehicle_type": route.vehicle_type,
        "vehicle_type_name": route.vehicle_type_name,
        "capacity_kg": route.capacity_kg,
        "distance_m": route.distance_m,
        "duration_s": route.duration_s,
        "collected_kg": route.collected_kg,
        "n_stops": route.n_stops,
        "n_unloads": route.n_unloads,
        "cost_cny": route.cost_cny,
        "depot_departure": hhmm(route.depot_departure_s),
        "depot_return": hhmm(route.depot_return_s),
        "lunch_start": hhmm(route.lunch_start_s),
    }


def visit_rows(route: RouteOut) -> list[dict]:
    """One property dict per visit of a route (times as HH:MM)."""
    return [
        {
            "route_id": route.route_id,
            "date": route.date.isoformat(),
            "station_id": route.station_id,
            "vehicle_id": route.vehicle_id,
            "order": v.order,
            "kind": v.kind,
            "id": v.id,
            "name": v.name,
            "arrival": hhmm(v.arrival_s),
            "start": hhmm(v.start_s),
            "departure": hhmm(v.departure_s),
            "load_kg": v.load_kg,
            "load_after_kg": v.load_after_kg,
        }
        | ({"stream": v.stream} if route.compartments else {})
        for v in route.visits
    ]


def routes_frame(doc: PlanDocument, geometry: PlanGeometry) -> gpd.GeoDataFrame:
    """Every route of every date as a line along the roads."""
    routes = [r for day in doc.days for r in day.routes]
    return _frame(
        [route_properties(r) for r in routes],
        [geometry.route_line(r) for r in routes],
        ROUTE_COLUMNS,
    )


def stops_frame(doc: PlanDocument) -> gpd.GeoDataFrame:
    """Every visit of every route as a point (unload visits included, ``kind`` says which)."""
    rows: list[dict[str, object]] = []
    geoms: list[Point] = []
    for day in doc.days:
        for route in day.routes:
            rows.extend(visit_rows(route))
            geoms.extend(Point(v.lon, v.lat) for v in route.visits)
    streams = ["stream"] if any("stream" in row for row in rows) else []  # sorted streams
    return _frame(rows, geoms, VISIT_COLUMNS + streams)


TRIP_COLUMNS = [
    "date",
    "truck_id",
    "home_station",
    "station_id",
    "site_id",
    "load_kg",
    "arrival",
    "start",
    "unload_start",
    "end",
]


def transfer_frame(
    trucks: list[tuple[dt.date, TransferTruckOut]], geometry: PlanGeometry
) -> gpd.GeoDataFrame:
    """One line per transfer trip, station → disposal site along the roads."""
    rows, geoms = [], []
    for day, truck in trucks:
        for trip in truck.trips:
            rows.append(
                {
                    "date": day.isoformat(),
                    "truck_id": trip.truck_id,
                    "home_station": truck.home_station,
                    "station_id": trip.station_id,
                    "site_id": trip.site_id,
                    "load_kg": trip.load_kg,
                    **({"stream": trip.stream} if trip.stream else {}),
                    **({"facility_id": trip.facility_id} if trip.facility_id else {}),
                    "arrival": hhmm(trip.arrival_s),
                    "start": hhmm(trip.start_s),
                    "unload_start": hhmm(trip.unload_start_s),
                    "end": hhmm(trip.end_s),
                }
            )
            geoms.append(
                geometry.transfer_line(
                    trip.truck_id, trip.station_id, trip.site_id, trip.facility_id
                )
            )
    sorted_columns = [  # sorted streams: the stream, a facility's excess
        name for name in ("stream", "facility_id") if any(name in row for row in rows)
    ]
    return _frame(rows, geoms, TRIP_COLUMNS + sorted_columns)


def point_status(doc: PlanDocument) -> dict[dt.date, dict[str, tuple[str, str, str]]]:
    """date → point id → (status served/unserved, reason, route_id); not listed: not due."""
    out: dict[dt.date, dict[str, tuple[str, str, str]]] = {}
    for day in doc.days:
        status: dict[str, tuple[str, str, str]] = {}
        for route in day.routes:
            for v in route.visits:
                if v.kind == "stop":
                    status[v.id] = ("served", "", route.route_id)
        for item in day.unserved:
            status.setdefault(item.point_id, ("unserved", item.reason, ""))
        out[day.date] = status
    return out


def points_frame(doc: PlanDocument, ctx: PlanningContext) -> gpd.GeoDataFrame:
    """Every collection point with its station and, per planned date, its status.

    ``status``/``reason``/``route_id`` describe the first planned date; ``status_YYYYMMDD`` and
    ``reason_YYYYMMDD`` each date (served / unserved / not_due); ``days_served`` counts dates.
    """
    scenario = ctx.scenario
    villages = {v.code: v for v in scenario.villages}
    townships = {t.code: t.name for t in scenario.townships}
    assigned = {p.point_id: p for p in doc.assignment.points}
    statuses = point_status(doc)
    dates = list(doc.dates)
    rows, geoms = [], []
    for p in scenario.points:
        village = villages.get(p.village_code)
        township_code = village.township_code if village else ""
        a = assigned.get(p.point_id)
        row = {
            "point_id": p.point_id,
            "name": p.name,
            "village_code": p.village_code,
            "village": village.name if village else "",
            "township_code": township_code,
            "township": townships.get(township_code, ""),
            "station_id": a.station_id if a else "",
            "travel_s": a.travel_s if a else None,
            "access_class": p.access_class,
            "frequency": p.frequency,
            "waste_t_per_day": p.waste_t_per_day,
            "bin_capacity_t": p.bin_capacity_t,
            "synthetic": p.synthetic,
        }
        served = 0
        for index, day in enumerate(dates):
            status, reason, route_id = statuses.get(day, {}).get(p.point_id, ("not_due", "", ""))
            served += status == "served"
            if index == 0:
                row.update(status=status, reason=reason, route_id=route_id)
            tag = day.strftime("%Y%m%d")
            row[f"status_{tag}"] = status
            row[f"reason_{tag}"] = reason
        row["days_served"] = served
        rows.append(row)
        geoms.append(Point(p.lon, p.lat))
    columns = list(rows[0]) if rows else ["point_id"]
    return _frame(rows, geoms, columns)


def stations_frame(doc: PlanDocument, ctx: PlanningContext) -> gpd.GeoDataFrame:
    """Every station: siting decision, load, capacity, utilisation, collected over the dates."""
    decided = {s.station_id: s for s in doc.assignment.stations}
    collected: dict[str, int] = {}
    trucks: dict[str, int] = {}
    for day in doc.days:
        for station_day in day.stations:
            sid = station_day.station_id
            collected[sid] = collected.get(sid, 0) + station_day.collected_kg
            trucks[sid] = trucks.get(sid, 0) + station_day.trucks_used
    townships = {t.code: t.name for t in ctx.scenario.townships}
    rows: list[dict[str, object]] = []
    geoms: list[Point] = []
    for s in ctx.scenario.stations:
        d = decided.get(s.station_id)
        rows.append(
            {
                "station_id": s.station_id,
                "name": s.name,
                "township_code": s.township_code,
                "township": townships.get(s.township_code, ""),
                "status": s.status,
                "open": bool(d.open) if d else False,
                "expansion_modules": d.expansion_modules if d else 0,
                "load_t_per_day": d.load_t_per_day if d else 0.0,
                "capacity_t_per_day": d.capacity_t_per_day if d else s.capacity_t_per_day,
                "utilisation": d.utilisation if d else 0.0,
                "collected_t": collected.get(s.station_id, 0) / 1000,
                "truck_days": trucks.get(s.station_id, 0),
                "synthetic": s.synthetic,
            }
        )
        geoms.append(Point(s.lon, s.lat))
    return _frame(rows, geoms, list(rows[0]) if rows else ["station_id"])


def assignment_frame(doc: PlanDocument, ctx: PlanningContext) -> gpd.GeoDataFrame:
    """A straight line from each assigned point to its station."""
    points = {p.point_id: p for p in ctx.scenario.points}
    stations = {s.station_id: s for s in ctx.scenario.stations}
    rows, geoms = [], []
    for a in doc.assignment.points:
        p, s = points.get(a.point_id), stations.get(a.station_id)
        if p is None or s is None:
            continue
        rows.append({"point_id": a.point_id, "station_id": a.station_id, "travel_s": a.travel_s})
        geoms.append(LineString([(p.lon, p.lat), (s.lon, s.lat)]))
    return _frame(rows, geoms, ["point_id", "station_id", "travel_s"])


def records_frame(records: tuple, drop: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """Scenario records (with ``lon``/``lat``) as points; tuples and paths as text."""
    rows = []
    for r in records:
        row = {}
        for key, value in dataclasses.asdict(r).items():
            if key in drop:
                continue
            row[key] = (
                value
                if isinstance(value, str | int | float | bool) or value is None
                else (str(value))
            )
        rows.append(row)
    geoms = [Point(r.lon, r.lat) for r in records]
    return _frame(rows, geoms, list(rows[0]) if rows else ["id"])


def roads_frame(ctx: PlanningContext) -> gpd.GeoDataFrame:
    """The road network's edges (one row per directed edge)."""
    _, edges = ctx.places.network.to_geodataframes()
    return edges.reset_index(drop=True)


def round_coords(geom: shapely.Geometry, digits: int = 6) -> list:
    """GeoJSON coordinates of a Point or LineString rounded to ``digits`` decimals (~0.1 m)."""
    coords = np.round(np.asarray(shapely.get_coordinates(geom)), digits)
    if isinstance(geom, Point):
        return coords[0].tolist()
    return coords.tolist()


TERRITORY_COLUMNS = [
    "point_id",
    "truck_id",
    "station_id",
    "type_id",
    "village_code",
    "name",
    "visits",
    "fixed",
    "apart",
]
TERRITORY_AREA_COLUMNS = [
    "truck_id",
    "station_id",
    "type_id",
    "n_points",
    "villages",
    "week_h",
    "contiguous",
]


def territories_frame(doc: PlanDocument, ctx: PlanningContext) -> gpd.GeoDataFrame:
    """Point → truck of the plan's territories (``policy.consistency``), one Point each;
    ``apart``: the point is cut off from its territory's centre along roads.

    A planner edits ``truck_id`` in QGIS and names the file as the scenario's
    ``data.territories``: the next plan keeps those points on those trucks.
    """
    scenario = ctx.scenario
    points = {p.point_id: p for p in scenario.points}
    visits: dict[str, int] = {}
    for day in doc.days:
        for route in day.routes:
            for v in route.visits:
                if v.kind == "stop":
                    visits[v.id] = visits.get(v.id, 0) + 1
    rows, geoms = [], []
    for territory in doc.consistency.territories if doc.consistency else []:
        for point_id in territory.point_ids:
            point = points[point_id]
            rows.append(
                {
                    "point_id": point_id,
                    "truck_id": territory.truck_id,
                    "station_id": territory.station_id,
                    "type_id": territory.type_id,
                    "village_code": point.village_code,
                    "name": point.name,
                    "visits": visits.get(point_id, 0),
                    "fixed": point.truck_id == territory.truck_id,
                    "apart": point_id in territory.detached_point_ids,
                }
            )
            geoms.append(Point(point.lon, point.lat))
    return _frame(rows, geoms, TERRITORY_COLUMNS)


def territory_areas_frame(doc: PlanDocument, ctx: PlanningContext) -> gpd.GeoDataFrame:
    """One polygon per truck: the convex hull of its territory's points, buffered by about
    100 m so that territories of one or two points show too (for the map; the point layer
    ``territories`` is the one read back)."""
    points = {p.point_id: p for p in ctx.scenario.points}
    rows, geoms = [], []
    for territory in doc.consistency.territories if doc.consistency else []:
        if not territory.point_ids:
            continue
        cloud = shapely.MultiPoint([(points[p].lon, points[p].lat) for p in territory.point_ids])
        rows.append(
            {
                "truck_id": territory.truck_id,
                "station_id": territory.station_id,
                "type_id": territory.type_id,
                "n_points": len(territory.point_ids),
                "villages": ",".join(territory.village_codes),
                "week_h": territory.estimated_week_h,
                "contiguous": territory.contiguous,
            }
        )
        geoms.append(cloud.convex_hull.buffer(0.001))  # ~100 m at these latitudes
    return _frame(rows, geoms, TERRITORY_AREA_COLUMNS)
