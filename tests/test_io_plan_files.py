"""Plan and compare output files: written, readable, consistent with the plan document."""

from __future__ import annotations

import concurrent.futures as cf
import csv
import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from openpyxl import load_workbook
from shapely.geometry import Point

from sanitation.io import charts
from sanitation.io.compare import compare_rows, write_compare_outputs
from sanitation.io.plan_files import plan_layers, write_plan_outputs
from sanitation.io.plan_geo import PlanGeometry
from sanitation.io.sheets import MAX_SHEET_NAME, route_file_name, sheet_names
from sanitation.plan.context import PlanningContext
from sanitation.plan.model import PlanDocument, TransferTripOut, TransferTruckOut
from sanitation.plan.run import plan_days
from sanitation.scenario.load import load_scenario

TINY = Path(__file__).parent / "data" / "scenario" / "tiny" / "scenario.yaml"
BOM = b"\xef\xbb\xbf"
LAYERS = {
    "points",
    "stations",
    "assignment",
    "routes",
    "stops",
    "transfer_trips",
    "disposal_sites",
    "depots",
    "roads",
}


def _second_day(doc: PlanDocument) -> PlanDocument:
    """``doc`` with a copy of its day on the next date and a hand-made hook-lift truck."""
    day = doc.days[0]
    nxt = day.date + dt.timedelta(days=1)
    truck = TransferTruckOut(
        date=day.date,
        truck_id="S1/hook_lift#1",
        home_station="S1",
        depot_departure_s=6 * 3600,
        depot_return_s=9 * 3600,
        lunch_start_s=None,
        distance_m=20_000,
        cost_cny=300.0,
        fuel_l=6.0,
        co2_kg=16.0,
        trips=[
            TransferTripOut(
                truck_id="S1/hook_lift#1",
                station_id="S1",
                site_id="W1",
                load_kg=2300,
                arrival_s=6 * 3600 + 600,
                start_s=6 * 3600 + 600,
                unload_start_s=7 * 3600,
                end_s=8 * 3600,
            )
        ],
    )
    first = day.model_copy(update={"transfer_trucks": [truck]})
    second = day.model_copy(
        update={
            "date": nxt,
            "routes": [
                r.model_copy(
                    update={
                        "date": nxt,
                        "route_id": r.route_id.replace(day.date.isoformat(), nxt.isoformat()),
                    }
                )
                for r in day.routes
            ],
            "unserved": [],
        }
    )
    return doc.model_copy(update={"dates": [day.date, nxt], "days": [first, second]})


@pytest.fixture(scope="module")
def planned() -> tuple[PlanDocument, PlanningContext]:
    scenario = load_scenario(TINY)
    with cf.ThreadPoolExecutor(1) as executor:
        doc = plan_days(
            scenario,
            [scenario.plan_date],
            engine="ortools",
            time_limit_s=1.0,
            executor=executor,
            workers=1,
        )
    assert doc.days[0].routes, "the tiny plan should have at least one route"
    return _second_day(doc), PlanningContext.build(scenario)


@pytest.fixture(scope="module")
def written(planned, tmp_path_factory) -> tuple[Path, list[Path]]:
    doc, ctx = planned
    out = tmp_path_factory.mktemp("plan")
    return out, write_plan_outputs(doc, ctx, out)


def _routes(doc: PlanDocument):
    return [r for day in doc.days for r in day.routes]


def test_every_file_is_written_and_listed(planned, written):
    doc, _ = planned
    out, files = written
    names = {p.relative_to(out).as_posix() for p in files}
    expected = {
        "plan.json",
        "plan.schema.json",
        "assignment.json",
        "routes.geojson",
        "plan.gpkg",
        "route_sheets.xlsx",
        "kpis.csv",
        "fleet.csv",
        "map.png",
        "utilisation.png",
    }
    assert expected <= names
    sheets = {n for n in names if n.startswith("route_sheets/")}
    assert len(sheets) == len(_routes(doc))
    for path in files:
        assert path.is_file()
        assert path.stat().st_size > 0
    for png in ("map.png", "utilisation.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_plan_of_several_days_has_a_map_per_day(planned, written):
    doc, _ = planned
    out, files = written
    assert len(doc.dates) == 2
    maps = [out / "maps" / f"{day}.png" for day in doc.dates]
    assert set(maps) <= set(files)
    pictures = [m.read_bytes() for m in maps]
    assert all(p[:8] == b"\x89PNG\r\n\x1a\n" for p in pictures)
    assert (out / "map.png").read_bytes() == pictures[0]  # map.png is the first day
    assert pictures[0] != pictures[1]  # only the first day has the hook-lift trip


def test_utilisation_figures_are_per_planned_day(planned):
    doc, _ = planned
    first = doc.days[0]  # the second day repeats the first: means equal the first day
    assert charts.collected_t_per_day(doc) == pytest.approx(
        {s.station_id: s.collected_kg / 1000 for s in first.stations}
    )
    shares = charts.truck_load_shares(doc)
    assert set(shares) == {r.vehicle_id for r in first.routes}
    for r in first.routes:
        assert shares[r.vehicle_id] == pytest.approx(
            r.collected_kg / (r.capacity_kg * max(1, r.n_unloads))
        )


def test_plan_json_round_trips_and_keeps_chinese(planned, written):
    doc, _ = planned
    out, _ = written
    text = (out / "plan.json").read_text(encoding="utf-8")
    assert PlanDocument.model_validate_json(text) == doc
    assert "甲镇转运站" in text
    assert "\\u" not in text
    schema = json.loads((out / "plan.schema.json").read_text(encoding="utf-8"))
    assert schema["title"] == "PlanDocument"
    assert set(schema["required"]) <= set(PlanDocument.model_fields)
    assert {"RouteOut", "VisitOut", "KpiRow"} <= set(schema["$defs"])
    assignment = json.loads((out / "assignment.json").read_text(encoding="utf-8"))
    stored = {p["point_id"]: p["station_id"] for p in assignment["points"]}
    assert stored == {p.point_id: p.station_id for p in doc.assignment.points}


def test_geojson_has_a_line_per_route_and_a_point_per_visit(planned, written):
    doc, ctx = planned
    out, _ = written
    data = json.loads((out / "routes.geojson").read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    assert "crs" not in data  # RFC 7946: WGS-84 lon/lat only
    routes = _routes(doc)
    lines = [f for f in data["features"] if f["properties"]["feature"] == "route"]
    visits = [f for f in data["features"] if f["properties"]["feature"] == "visit"]
    assert len(lines) == len(routes)
    assert len(visits) == sum(len(r.visits) for r in routes)
    depot = ctx.scenario.depots[0]
    for feature, route in zip(lines, routes, strict=True):
        coords = feature["geometry"]["coordinates"]
        assert feature["geometry"]["type"] == "LineString"
        assert len(coords) >= 2
        assert all(116 < lon < 117 and 30 < lat < 31 for lon, lat in coords)  # lon first
        # the line leaves the depot and comes back to it (within the snapping distance)
        for lon, lat in (coords[0], coords[-1]):
            assert abs(lon - depot.lon) < 0.003 and abs(lat - depot.lat) < 0.003
        props = feature["properties"]
        assert props["route_id"] == route.route_id
        assert props["n_stops"] == route.n_stops
        assert props["depot_departure"].count(":") == 1
    first = [f["properties"] for f in visits[: len(routes[0].visits)]]
    assert [p["order"] for p in first] == [v.order for v in routes[0].visits]
    assert [p["load_after_kg"] for p in first] == [v.load_after_kg for v in routes[0].visits]


def test_geopackage_layers_read_back(planned, written):
    doc, ctx = planned
    out, _ = written
    gpkg = out / "plan.gpkg"
    assert {name for name, _ in pyogrio.list_layers(gpkg)} == LAYERS
    layers = {name: gpd.read_file(gpkg, layer=name) for name in LAYERS}
    for name, frame in layers.items():
        assert frame.crs.to_epsg() == 4326, name
    routes = _routes(doc)
    assert len(layers["routes"]) == len(routes)
    assert len(layers["stops"]) == sum(len(r.visits) for r in routes)
    trips = [t for day in doc.days for truck in day.transfer_trucks for t in truck.trips]
    assert len(layers["transfer_trips"]) == len(trips) >= 1
    assert layers["transfer_trips"].geometry.iloc[0].length > 0
    assert len(layers["points"]) == len(ctx.scenario.points)
    assert len(layers["stations"]) == len(ctx.scenario.stations)
    assert len(layers["assignment"]) == len(doc.assignment.points)
    assert len(layers["roads"]) > 0
    points = layers["points"].set_index("point_id")
    served = {v.id for v in doc.days[0].routes[0].visits if v.kind == "stop"}
    for point_id in served:
        assert points.loc[point_id, "status"] == "served"
    tags = [d.strftime("%Y%m%d") for d in doc.dates]
    assert {f"status_{t}" for t in tags} <= set(points.columns)
    assert set(points["status"]) <= {"served", "unserved", "not_due"}
    # a served point's stop lies at the point
    stop = layers["stops"].query("kind == 'stop'").iloc[0]
    point = points.loc[stop["id"]]
    assert stop.geometry.distance(point.geometry) < 1e-9


def test_route_sheets_list_the_visits(planned, written):
    doc, _ = planned
    out, _ = written
    routes = _routes(doc)
    for route in routes:
        path = out / "route_sheets" / route_file_name(route)
        ws = load_workbook(path).active
        header = next(r for r in range(1, 30) if ws.cell(r, 1).value == "顺序 (order)")
        rows = list(ws.iter_rows(min_row=header + 1, values_only=True))
        assert [r[0] for r in rows] == [v.order for v in route.visits]
        assert [r[2] for r in rows] == [v.id for v in route.visits]
        assert [r[9] for r in rows] == [v.load_after_kg for v in route.visits]
        kinds = [r[1] for r in rows]
        assert kinds.count("卸车 unload") == route.n_unloads
        assert ws.print_title_rows == f"${header}:${header}"
        assert ws.page_setup.fitToWidth == 1
    combined = load_workbook(out / "route_sheets.xlsx")
    names = combined.sheetnames
    assert names[0] == "总览 overview"
    assert len(names) == len(routes) + 3  # overview, routes, unserved, fleet
    assert len(set(names)) == len(names)
    assert all(len(n) <= MAX_SHEET_NAME for n in names)
    overview = combined["总览 overview"]
    listed = [r for r in overview.iter_rows(min_row=4, values_only=True) if r[0]]
    assert len(listed) == len(routes)


def _bom_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file that must start with a UTF-8 BOM."""
    raw = path.read_bytes()
    assert raw.startswith(BOM)
    return list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))


def test_kpis_csv_has_a_bom_and_every_row(planned, written):
    doc, _ = planned
    out, _ = written
    rows = _bom_csv(out / "kpis.csv")
    assert len(rows) == len(doc.kpis)
    assert rows[0]["scope"] == "county"
    assert any(r["name"] == "甲镇转运站" for r in rows)


def test_fleet_csv_and_sheet_list_the_fleet_report(planned, written):
    doc, _ = planned
    out, _ = written
    rows = _bom_csv(out / "fleet.csv")
    assert doc.fleet is not None
    assert len(rows) == len(doc.fleet.rows) > 0
    used = {(r.station_id, r.vehicle_type) for day in doc.days for r in day.routes}
    for row in rows:
        if row["scope"] == "station" and (row["station_id"], row["type_id"]) in used:
            assert int(row["needed"]) >= 1
            assert int(row["needed"]) <= int(row["working"])
    sheet = load_workbook(out / "route_sheets.xlsx")["车队 fleet"]
    listed = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]]
    assert len(listed) == len(doc.fleet.rows)
    assert [r[5] for r in listed] == [r.needed for r in doc.fleet.rows]


def test_sheet_names_are_short_and_unique(planned):
    doc, _ = planned
    route = doc.days[0].routes[0]
    long_id = "D1/一个非常非常长的车型名称_with_a_long_english_suffix#12"
    routes = [route.model_copy(update={"vehicle_id": long_id})] * 3
    names = sheet_names(routes)
    assert len(set(names)) == 3
    assert all(len(n) <= MAX_SHEET_NAME for n in names)
    assert not any(c in n for n in names for c in "[]:*?/\\")


def test_a_leg_without_snapped_nodes_is_a_straight_line(planned):
    _, ctx = planned
    line = PlanGeometry(ctx).leg("small", (-1, (116.70, 30.13)), (-1, (116.71, 30.14)))
    assert list(line.coords) == [(116.70, 30.13), (116.71, 30.14)]


def _with_costs(doc: PlanDocument, factor: float, unserved: int) -> PlanDocument:
    kpis = []
    for row in doc.kpis:
        update = {"total_cost_cny": round(row.total_cost_cny * factor, 2)}
        if row.scope == "county":
            update["points_unserved"] = unserved
        kpis.append(row.model_copy(update=update))
    return doc.model_copy(update={"kpis": kpis})


def test_compare_writes_tables_with_deltas(planned, tmp_path):
    doc, _ = planned
    base = doc.kpis[0].total_cost_cny
    other = _with_costs(doc, 1.5, unserved=3)
    files = write_compare_outputs(["基线 base", "fleet_cut"], [doc, other], tmp_path)
    assert {p.name for p in files} == {"compare.md", "compare.csv", "compare.png"}
    md = (tmp_path / "compare.md").read_text(encoding="utf-8")
    assert "Δ fleet_cut (Δ%)" in md
    assert "(+50.0 %)" in md
    raw = (tmp_path / "compare.csv").read_bytes()
    assert raw.startswith(BOM)
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    total = next(r for r in rows if r["scope"] == "county" and r["metric"] == "total_cost_cny")
    assert float(total["delta fleet_cut"]) == pytest.approx(round(base * 1.5, 2) - base)
    assert float(total["delta_pct fleet_cut"]) == pytest.approx(50.0, abs=0.01)
    unserved = next(r for r in rows if r["metric"] == "points_unserved")
    assert float(unserved["delta fleet_cut"]) == 3 - doc.kpis[0].points_unserved
    assert any(r["scope"] == "station" for r in rows)


def test_compare_rejects_mismatched_names(planned):
    doc, _ = planned
    with pytest.raises(ValueError, match="one name per plan"):
        compare_rows(["a", "b"], [doc])


def test_route_geometry_follows_the_roads(written):
    """Every vertex of a route line lies on a road of the network."""
    out, _ = written
    roads = gpd.read_file(out / "plan.gpkg", layer="roads").union_all()
    line = gpd.read_file(out / "plan.gpkg", layer="routes").geometry.iloc[0]
    assert all(roads.distance(Point(c)) < 1e-9 for c in line.coords)


def test_a_plan_without_routes_still_writes_every_file(planned, tmp_path):
    """E.g. a closure that leaves every point unserved: empty layers keep their geometry type."""
    doc, ctx = planned
    days = [d.model_copy(update={"routes": [], "transfer_trucks": []}) for d in doc.days]
    empty = doc.model_copy(update={"days": days})
    files = write_plan_outputs(empty, ctx, tmp_path)
    assert not any(p.parent.name == "route_sheets" for p in files)
    layers = dict(pyogrio.list_layers(tmp_path / "plan.gpkg"))
    assert layers["routes"] == "LineString"
    assert layers["transfer_trips"] == "LineString"
    assert len(gpd.read_file(tmp_path / "plan.gpkg", layer="routes")) == 0
    data = json.loads((tmp_path / "routes.geojson").read_text(encoding="utf-8"))
    assert data["features"] == []
    assert load_workbook(tmp_path / "route_sheets.xlsx").sheetnames == [
        "总览 overview",
        "未收集 unserved",
        "车队 fleet",
    ]


def test_the_map_is_drawn_once_and_is_the_picture_drawn_layer_by_layer(
    planned, written, tmp_path, monkeypatch
):
    """The map's canvas draws only when saved (not after each layer geopandas plots),
    and the picture is byte for byte the one of a pyplot figure redrawn after every layer."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    doc, ctx = planned
    out, _ = written
    frames = plan_layers(doc, ctx, PlanGeometry(ctx))
    draws: list[int] = []
    draw = FigureCanvasAgg.draw

    def counting(self, *args, **kwargs):
        draws.append(1)
        return draw(self, *args, **kwargs)

    monkeypatch.setattr(FigureCanvasAgg, "draw", counting)
    charts.plan_map(doc, ctx, frames, tmp_path / "once.png")
    assert len(draws) <= 2  # by savefig: for the tight bounding box, then the picture
    draws.clear()

    def pyplot_figure(figsize, dpi):  # as the map was drawn before: redrawn per layer
        return plt.subplots(figsize=figsize, dpi=dpi)

    monkeypatch.setattr(charts, "_map_figure", pyplot_figure)
    charts.plan_map(doc, ctx, frames, tmp_path / "layered.png")
    plt.close("all")
    assert len(draws) > 3
    picture = (tmp_path / "once.png").read_bytes()
    assert picture == (tmp_path / "layered.png").read_bytes() == (out / "map.png").read_bytes()
