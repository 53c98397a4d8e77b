"""Printable route sheets (XLSX): one workbook per truck-day and a combined workbook.

Headers are Chinese with English in brackets; times HH:MM; loads in kg; distance in km; money in
CNY. Each sheet prints on A4 fitted to the page width with the table header repeated.
"""

from __future__ import annotations

import re
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from sanitation.io.plan_geo import hhmm
from sanitation.plan.context import PlanningContext
from sanitation.plan.model import PlanDocument, RouteOut, TerritoryOut

VISIT_HEADERS = [
    ("顺序 (order)", 8),
    ("类型 (kind: 收集点 stop / 卸车 unload)", 16),
    ("编号 (id)", 16),
    ("名称 (name)", 26),
    ("到达 (arrival)", 10),
    ("开始 (start)", 10),
    ("离开 (departure)", 10),
    ("收集 kg (picked up)", 12),
    ("卸车 kg (unloaded)", 12),
    ("车上 kg (load after)", 12),
    ("签字 / 备注 (check / note)", 20),
]
# sorted streams: inserted before the note column on the sheet of a truck with compartments
STREAM_HEADERS = [("分类 (stream)", 14), ("各舱 kg (compartments after)", 30)]
KIND_LABEL = {"stop": "收集点 stop", "unload": "卸车 unload"}
MAX_SHEET_NAME = 31
FLEET_SHEET = "车队 fleet"
FLEET_HEADERS = [
    ("转运站 (station)", 16),
    ("车型 (type)", 22),
    ("用途 (role)", 12),
    ("自有 (owned)", 10),
    ("在用 (working)", 10),
    ("需要 (needed, peak day)", 12),
    ("高峰日 (peak date)", 12),
    ("车日 (truck-days)", 10),
]

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_UNLOAD_FILL = PatternFill("solid", fgColor="FCE4D6")
_THIN = Side(style="thin", color="999999")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
STYLES = {  # named styles, registered once per workbook (much faster than per-cell styles)
    "rs_head": {
        "font": _BOLD,
        "fill": _HEAD_FILL,
        "border": _BOX,
        "alignment": Alignment(wrap_text=True, vertical="center"),
    },
    "rs_cell": {"border": _BOX},
    "rs_unload": {"font": _BOLD, "fill": _UNLOAD_FILL, "border": _BOX},
    "rs_label": {"font": _BOLD},
    "rs_title": {"font": _TITLE},
    "rs_link": {"font": Font(color="0563C1", underline="single"), "border": _BOX},
}


def _register_styles(wb: Workbook) -> None:
    for name, parts in STYLES.items():
        if name not in wb.named_styles:
            wb.add_named_style(NamedStyle(name=name, **parts))


def safe_name(text: str) -> str:
    """``text`` with every run of characters other than letters, digits, ``.``, ``-`` as ``_``."""
    return re.sub(r"[^\w.-]+", "_", text).strip("_")


def route_file_name(route: RouteOut) -> str:
    """``<date>_<vehicle id sanitised>.xlsx``."""
    return f"{route.date.isoformat()}_{safe_name(route.vehicle_id)}.xlsx"


def sheet_names(routes: list[RouteOut]) -> list[str]:
    """Unique worksheet names (≤ 31 characters, no ``[]:*?/\\``) ``MMDD vehicle``."""
    used: set[str] = {"总览 overview", "未收集 unserved", FLEET_SHEET}
    names = []
    for route in routes:
        base = f"{route.date:%m%d} {safe_name(route.vehicle_id)}"[:MAX_SHEET_NAME]
        name, n = base, 1
        while name.lower() in {u.lower() for u in used}:
            n += 1
            suffix = f"~{n}"
            name = base[: MAX_SHEET_NAME - len(suffix)] + suffix
        used.add(name)
        names.append(name)
    return names


def _print_setup(ws: Worksheet, header_row: int, *, landscape: bool = False) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)


def territory_villages(territory: TerritoryOut, ctx: PlanningContext) -> str:
    """The villages of a truck's territory for its route sheet: ``name (points), ...``."""
    names = {v.code: v.name for v in ctx.scenario.villages}
    village_of = {p.point_id: p.village_code for p in ctx.scenario.points}
    count: dict[str, int] = {}
    for point_id in territory.point_ids:
        code = village_of[point_id]
        count[code] = count.get(code, 0) + 1
    return "、".join(f"{names.get(code, code)} ({n})" for code, n in sorted(count.items()))


def territory_of(doc: PlanDocument, route: RouteOut) -> TerritoryOut | None:
    """The territory of ``route``'s truck, if the plan has territories."""
    if doc.consistency is None:
        return None
    return next((t for t in doc.consistency.territories if t.truck_id == route.vehicle_id), None)


def fill_route_sheet(
    ws: Worksheet, route: RouteOut, ctx: PlanningContext, territory: TerritoryOut | None = None
) -> int:
    """Write one truck-day on ``ws`` (with its truck's territory: the villages it serves over
    the week); returns the row of the table header."""
    scenario = ctx.scenario
    station = next((s for s in scenario.stations if s.station_id == route.station_id), None)
    vtype = next((v for v in scenario.vehicle_types if v.type_id == route.vehicle_type), None)
    shift = f"{hhmm(vtype.shift_start_s)}–{hhmm(vtype.shift_end_s)}" if vtype else ""
    lunch = ""
    if route.lunch_start_s is not None:
        end = route.lunch_start_s + (vtype.lunch_duration_s if vtype else 0)
        lunch = f"{hhmm(route.lunch_start_s)}–{hhmm(end)}"
    station_label = f"{station.name} ({route.station_id})" if station else route.station_id
    _register_styles(ws.parent)
    ws["A1"] = f"收集车路线单 (collection route sheet) · {scenario.name}"
    ws["A1"].style = "rs_title"
    block = [
        ("日期 (date)", route.date.isoformat(), "转运站 (station)", station_label),
        ("车辆 (truck)", route.vehicle_id, "车型 (type)", route.vehicle_type_name),
        ("载重 kg (capacity)", route.capacity_kg, "班次 (shift)", shift),
        (
            "出车 (depot departure)",
            hhmm(route.depot_departure_s),
            "回场 (depot return)",
            hhmm(route.depot_return_s),
        ),
        ("车场 (depot)", route.depot_id, "午休 (lunch)", lunch or "—"),
        (
            "里程 km (distance)",
            round(route.distance_m / 1000, 1),
            "费用 CNY (cost)",
            round(route.cost_cny, 2),
        ),
        (
            "收集点 / 卸车 (stops / unloads)",
            f"{route.n_stops} / {route.n_unloads}",
            "收集量 kg (collected)",
            route.collected_kg,
        ),
    ]
    names = {st.stream_id: st.name_zh for st in scenario.streams}
    if route.compartments:
        block.append(
            (
                "分舱 kg (compartments: capacity / collected)",
                "; ".join(
                    f"{names.get(c.stream, c.stream)} {c.capacity_kg}/{c.collected_kg}"
                    for c in route.compartments
                ),
                "",
                "",
            )
        )
    if territory is not None:
        block.append(
            (
                "责任片区 (territory: villages, points)",
                territory_villages(territory, ctx),
                "片区点数 (territory points)",
                len(territory.point_ids),
            )
        )
    for offset, (k1, v1, k2, v2) in enumerate(block):
        row = 2 + offset
        ws.cell(row=row, column=1, value=k1).style = "rs_label"
        ws.cell(row=row, column=3, value=v1)
        ws.cell(row=row, column=5, value=k2).style = "rs_label"
        ws.cell(row=row, column=7, value=v2)
    header_row = 2 + len(block) + 1
    sorted_route = bool(route.compartments)
    headers = (
        [*VISIT_HEADERS[:-1], *STREAM_HEADERS, VISIT_HEADERS[-1]] if sorted_route else VISIT_HEADERS
    )
    for col, (title, width) in enumerate(headers, start=1):
        ws.cell(row=header_row, column=col, value=title).style = "rs_head"
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[header_row].height = 32
    for offset, v in enumerate(route.visits, start=1):
        row = header_row + offset
        unload = v.kind == "unload"
        values = [
            v.order,
            KIND_LABEL[v.kind],
            v.id,
            v.name,
            hhmm(v.arrival_s),
            hhmm(v.start_s),
            hhmm(v.departure_s),
            None if unload else v.load_kg,
            v.load_kg if unload else None,
            v.load_after_kg,
            None,
        ]
        if sorted_route:
            after = ", ".join(
                f"{names.get(k, k)} {kg}" for k, kg in v.load_after_by_stream_kg.items()
            )
            values[-1:-1] = [names.get(v.stream, v.stream) if v.stream else None, after]
        style = "rs_unload" if unload else "rs_cell"
        for col, value in enumerate(values, start=1):
            ws.cell(row=row, column=col, value=value).style = style
    _print_setup(ws, header_row)
    return header_row


def write_route_workbook(
    route: RouteOut, ctx: PlanningContext, path: Path, territory: TerritoryOut | None = None
) -> Path:
    """One truck-day as its own workbook (with its truck's territory, if any)."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_names([route])[0]
    fill_route_sheet(ws, route, ctx, territory)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


OVERVIEW_HEADERS = [
    ("日期 (date)", 11),
    ("转运站 (station)", 18),
    ("车辆 (truck)", 22),
    ("车型 (type)", 14),
    ("出车 (departure)", 9),
    ("回场 (return)", 9),
    ("收集点 (stops)", 8),
    ("卸车 (unloads)", 8),
    ("收集量 t (collected)", 10),
    ("里程 km (distance)", 10),
    ("工时 h (hours)", 9),
    ("费用 CNY (cost)", 10),
    ("工作表 (sheet)", 22),
]


def write_combined_workbook(doc: PlanDocument, ctx: PlanningContext, path: Path) -> Path:
    """All truck-days of the plan: an overview sheet, one sheet per truck-day, unserved points,
    the fleet report."""
    stations = {s.station_id: s.name for s in ctx.scenario.stations}
    routes = [r for day in doc.days for r in day.routes]
    names = sheet_names(routes)
    wb = Workbook()
    overview = wb.active
    overview.title = "总览 overview"
    _register_styles(wb)
    overview["A1"] = f"路线总览 (routes overview) · {doc.scenario}"
    overview["A1"].style = "rs_title"
    header_row = 3
    for col, (title, width) in enumerate(OVERVIEW_HEADERS, start=1):
        overview.cell(row=header_row, column=col, value=title).style = "rs_head"
        overview.column_dimensions[get_column_letter(col)].width = width
    for offset, (route, name) in enumerate(zip(routes, names, strict=True), start=1):
        row = header_row + offset
        values = [
            route.date.isoformat(),
            f"{stations.get(route.station_id, '')} ({route.station_id})",
            route.vehicle_id,
            route.vehicle_type_name,
            hhmm(route.depot_departure_s),
            hhmm(route.depot_return_s),
            route.n_stops,
            route.n_unloads,
            round(route.collected_kg / 1000, 3),
            round(route.distance_m / 1000, 1),
            round(route.duration_s / 3600, 2),
            round(route.cost_cny, 2),
            name,
        ]
        for col, value in enumerate(values, start=1):
            overview.cell(row=row, column=col, value=value).style = "rs_cell"
        link = overview.cell(row=row, column=len(values))
        link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{name}'!A1", display=name)
        link.style = "rs_link"
        ws = wb.create_sheet(name)
        fill_route_sheet(ws, route, ctx, territory_of(doc, route))
    _print_setup(overview, header_row, landscape=True)
    unserved = [u for day in doc.days for u in day.unserved]
    ws = wb.create_sheet("未收集 unserved")
    heads = [
        ("日期 (date)", 11),
        ("收集点 (point)", 16),
        ("名称 (name)", 24),
        ("转运站 (station)", 12),
        ("乡镇 (township)", 12),
        ("待收 kg (load)", 10),
        ("原因 (reason)", 60),
    ]
    for col, (title, width) in enumerate(heads, start=1):
        ws.cell(row=1, column=col, value=title).style = "rs_head"
        ws.column_dimensions[get_column_letter(col)].width = width
    for row, u in enumerate(unserved, start=2):
        values = [
            u.date.isoformat(),
            u.point_id,
            u.name,
            u.station_id,
            u.township_code,
            u.load_kg,
            u.reason,
        ]
        for col, value in enumerate(values, start=1):
            ws.cell(row=row, column=col, value=value)
    _print_setup(ws, 1, landscape=True)
    _fleet_sheet(wb.create_sheet(FLEET_SHEET), doc, ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _fleet_sheet(ws: Worksheet, doc: PlanDocument, ctx: PlanningContext) -> None:
    """The fleet report: trucks owned, working and needed per station and type."""
    stations = {s.station_id: s.name for s in ctx.scenario.stations}
    types = {v.type_id: v.name for v in ctx.scenario.vehicle_types}
    roles = {"collection": "收集 collection", "transfer": "转运 transfer"}
    for col, (title, width) in enumerate(FLEET_HEADERS, start=1):
        ws.cell(row=1, column=col, value=title).style = "rs_head"
        ws.column_dimensions[get_column_letter(col)].width = width
    rows = doc.fleet.rows if doc.fleet is not None else []
    for number, r in enumerate(rows, start=2):
        station = (
            "全县 county"
            if r.scope == "county"
            else f"{stations.get(r.station_id, '')} ({r.station_id})"
        )
        values = [
            station,
            types.get(r.type_id, r.type_id),
            roles[r.role],
            r.owned,
            r.working,
            r.needed,
            r.peak_date.isoformat() if r.peak_date else "—",
            r.truck_days,
        ]
        for col, value in enumerate(values, start=1):
            ws.cell(row=number, column=col, value=value).style = "rs_cell"
    _print_setup(ws, 1, landscape=True)
