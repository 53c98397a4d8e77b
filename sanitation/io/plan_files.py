"""Write the output files of a plan (``sanitation plan --out``; comparisons: `io.compare`).

Files of `write_plan_outputs`:

- ``plan.json`` (the `PlanDocument`, UTF-8, Chinese kept), ``plan.schema.json`` (its schema);
- ``assignment.json`` (the station siting and every point's station and travel time, the cost
  split; the ``assignment`` part of the plan on its own);
- ``routes.geojson`` (RFC 7946, lon/lat): a LineString per route along the roads, a Point per visit;
- ``plan.gpkg`` (EPSG:4326): ``points``, ``stations``, ``assignment``, ``routes``, ``stops``,
  ``transfer_trips``, ``disposal_sites``, ``depots``, ``roads``; with territories
  (``policy.consistency``) also ``territories`` (point → truck, the layer a planner edits and
  names as ``data.territories``) and ``territory_areas`` (a hull per truck);
- ``route_sheets/<date>_<vehicle>.xlsx`` per truck-day and ``route_sheets.xlsx`` combined;
- ``kpis.csv`` and ``fleet.csv`` (the fleet report: trucks needed, owned and working per station
  and type), UTF-8 with BOM for Excel;
- ``map.png`` (the first day) and, for a plan of several days, ``maps/<date>.png`` per day;
  ``utilisation.png``.

The caller (`sanitation.io.plan_folder.plan_to_folder`) passes a staging folder and renames it
when everything is written.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

from sanitation.io import charts, sheets
from sanitation.io.plan_geo import (
    PlanGeometry,
    assignment_frame,
    points_frame,
    records_frame,
    roads_frame,
    round_coords,
    route_properties,
    routes_frame,
    stations_frame,
    stops_frame,
    territories_frame,
    territory_areas_frame,
    transfer_frame,
    visit_rows,
)
from sanitation.plan.context import PlanningContext
from sanitation.plan.model import FleetRowOut, KpiRow, PlanDocument

logger = logging.getLogger(__name__)

KPI_FIELDS = list(KpiRow.model_fields)
FLEET_FIELDS = list(FleetRowOut.model_fields)


def write_plan_outputs(doc: PlanDocument, ctx: PlanningContext, out: Path) -> list[Path]:
    """Write every output file of a plan into ``out`` (created if needed).

    Parameters
    ----------
    doc
        The plan.
    ctx
        The planning context the plan was made with (roads, snapped places for road geometry).
    out
        The folder to write into.

    Returns
    -------
    list of pathlib.Path
        The files written, in writing order.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_plan_json(doc, out / "plan.json"), write_schema(out / "plan.schema.json")]
    assignment = out / "assignment.json"
    assignment.write_text(doc.assignment.model_dump_json(indent=1), encoding="utf-8")
    written.append(assignment)
    geometry = PlanGeometry(ctx)
    layers = plan_layers(doc, ctx, geometry)
    written.append(write_routes_geojson(doc, layers["routes"], out / "routes.geojson"))
    written.append(write_plan_gpkg(layers, out / "plan.gpkg"))
    written.extend(write_route_sheets(doc, ctx, out))
    written.append(write_kpis_csv(doc, out / "kpis.csv"))
    written.append(write_fleet_csv(doc, out / "fleet.csv"))
    written.append(charts.plan_map(doc, ctx, layers, out / "map.png"))
    if len(doc.dates) > 1:  # a week: one map per day as well (map.png is the first day)
        for day in doc.dates:
            written.append(charts.plan_map(doc, ctx, layers, out / "maps" / f"{day}.png", day))
    written.append(charts.utilisation_chart(doc, out / "utilisation.png"))
    logger.info("wrote %d plan files to %s", len(written), out)
    return written


def write_plan_json(doc: PlanDocument, path: Path) -> Path:
    """``doc`` as indented JSON, UTF-8 (Chinese names kept as they are)."""
    path.write_text(doc.model_dump_json(indent=1), encoding="utf-8")
    return path


def write_schema(path: Path) -> Path:
    """The JSON Schema of `PlanDocument`."""
    schema = PlanDocument.model_json_schema()
    path.write_text(json.dumps(schema, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def plan_layers(doc: PlanDocument, ctx: PlanningContext, geometry: PlanGeometry) -> dict:
    """The GeoPackage layers of a plan (GeoDataFrames in EPSG:4326)."""
    trucks = [(day.date, t) for day in doc.days for t in day.transfer_trucks]
    return {
        "points": points_frame(doc, ctx),
        "stations": stations_frame(doc, ctx),
        "assignment": assignment_frame(doc, ctx),
        "routes": routes_frame(doc, geometry),
        "stops": stops_frame(doc),
        "transfer_trips": transfer_frame(trucks, geometry),
        "disposal_sites": records_frame(ctx.scenario.disposal_sites),
        "depots": records_frame(ctx.scenario.depots),
        "roads": roads_frame(ctx),
    } | (
        {
            "territories": territories_frame(doc, ctx),
            "territory_areas": territory_areas_frame(doc, ctx),
        }
        if doc.consistency is not None and doc.consistency.territories
        else {}
    )


LAYER_GEOMETRY = {
    "points": "Point",
    "stations": "Point",
    "assignment": "LineString",
    "routes": "LineString",
    "stops": "Point",
    "transfer_trips": "LineString",
    "disposal_sites": "Point",
    "depots": "Point",
    "roads": "LineString",
    "territories": "Point",
    "territory_areas": "Polygon",
}


def write_plan_gpkg(layers: dict, path: Path) -> Path:
    """Every layer into one GeoPackage (EPSG:4326); empty layers keep their geometry type."""
    path.unlink(missing_ok=True)
    for name, frame in layers.items():
        frame.to_file(
            path,
            layer=name,
            driver="GPKG",
            engine="pyogrio",
            geometry_type=LAYER_GEOMETRY.get(name, "Unknown"),
        )
    return path


def write_routes_geojson(doc: PlanDocument, route_lines, path: Path) -> Path:
    """RFC 7946 FeatureCollection: route lines (``feature: route``) and visits (``visit``)."""
    lines = dict(zip(route_lines["route_id"], route_lines.geometry, strict=True))
    features = []
    for day in doc.days:
        for route in day.routes:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": round_coords(lines[route.route_id]),
                    },
                    "properties": {"feature": "route", **route_properties(route)},
                }
            )
        for route in day.routes:
            for visit, props in zip(route.visits, visit_rows(route), strict=True):
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "Point",
                            "coordinates": [round(visit.lon, 6), round(visit.lat, 6)],
                        },
                        "properties": {"feature": "visit", **props},
                    }
                )
    collection = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path


def write_route_sheets(doc: PlanDocument, ctx: PlanningContext, out: Path) -> list[Path]:
    """``route_sheets/<date>_<vehicle>.xlsx`` per truck-day and ``route_sheets.xlsx``."""
    written = []
    folder = out / "route_sheets"
    folder.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for day in doc.days:
        for route in day.routes:
            name = sheets.route_file_name(route)
            stem, n = name.removesuffix(".xlsx"), 1
            while name.lower() in used:
                n += 1
                name = f"{stem}~{n}.xlsx"
            used.add(name.lower())
            territory = sheets.territory_of(doc, route)
            written.append(sheets.write_route_workbook(route, ctx, folder / name, territory))
    written.append(sheets.write_combined_workbook(doc, ctx, out / "route_sheets.xlsx"))
    return written


def write_kpis_csv(doc: PlanDocument, path: Path) -> Path:
    """``doc.kpis`` as CSV, UTF-8 with BOM (Excel shows the Chinese names)."""
    rows = [row.model_dump() for row in doc.kpis]
    present = {name for row in rows for name in row}  # sorted-stream columns only when sorted
    return _write_csv(path, [f for f in KPI_FIELDS if f in present], rows)


def write_fleet_csv(doc: PlanDocument, path: Path) -> Path:
    """The fleet report's rows as CSV, UTF-8 with BOM (no rows for a plan without one)."""
    rows = doc.fleet.rows if doc.fleet is not None else []
    return _write_csv(path, FLEET_FIELDS, [row.model_dump() for row in rows])


def _write_csv(path: Path, fields: list[str], rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path
