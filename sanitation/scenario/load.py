"""Load a scenario YAML and its data files into a validated `Scenario`.

Every problem found is collected and raised once as `ScenarioError` (exit code 2): YAML syntax
(with line), missing/empty/unreadable/non-UTF-8 files, unknown or missing columns, bad values,
duplicate ids, unknown references, coordinates out of range or swapped, a county boundary that
is empty, holds no polygon or lies nowhere near the points, and points outside it (more than
`sanitation.scenario.boundary.OUTSIDE_BOUNDARY_MARGIN_M`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import ValidationError

from sanitation.errors import ScenarioError
from sanitation.scenario import specs
from sanitation.scenario._yaml import load_yaml
from sanitation.scenario.boundary import boundary_problems
from sanitation.scenario.config import ScenarioConfig
from sanitation.scenario.model import (
    AccessClass,
    CollectionPoint,
    Costs,
    Depot,
    DisposalSiteRecord,
    FleetEntry,
    Policy,
    RoadSource,
    Scenario,
    SeasonalMultiplier,
    Township,
    TransferStationRecord,
    VehicleTypeRecord,
    Village,
    split_truck_id,
)
from sanitation.scenario.streams import StreamTables, compartments, load_streams, stream_list
from sanitation.scenario.tables import CONTROL_CHARS, Problems, parse_table, shown

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

MAX_BASE_DEPTH = 8

R = TypeVar("R", bound="DataclassInstance")


def load_scenario(path: Path | str) -> Scenario:
    """Load and validate a scenario (following ``base:`` chains).

    Raises
    ------
    ScenarioError
        Listing every problem found, each naming file, record, field, value and expectation.
    """
    path = Path(path)
    problems = Problems()
    document = _load_document(path, problems, depth=0)
    if document is None:
        raise ScenarioError(problems.items[0], problems.items)
    try:
        config = ScenarioConfig.model_validate(document)
    except ValidationError as error:
        for item in error.errors():
            location = ".".join(str(part) for part in item["loc"])
            value = "(missing)" if item["type"] == "missing" else shown(item.get("input"))
            problems.add(f"{path}: field {location!r}: value {value}; {item['msg']}")
        raise ScenarioError(problems.items[0], problems.items) from None
    scenario = _build(path, config, problems)
    if problems or scenario is None:
        raise ScenarioError(f"{len(problems.items)} problem(s) in {path}", problems.items)
    return scenario


def _load_document(path: Path, problems: Problems, *, depth: int) -> dict[str, Any] | None:
    """Read one YAML document, resolve its paths, and merge it over its base."""
    if depth > MAX_BASE_DEPTH:
        problems.add(f"{path}: field 'base': chain longer than {MAX_BASE_DEPTH}; is it circular?")
        return None
    if not path.is_file():
        problems.add(f"{path}: scenario file not found")
        return None
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        problems.add(f"{path}: line {line}: not UTF-8 text; expected the YAML saved as UTF-8")
        return None
    try:
        document = load_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        reason = getattr(error, "problem", None) or str(error)
        problems.add(f"{path}: YAML syntax error at {where}: {reason}")
        return None
    if document is None:
        problems.add(f"{path}: file is empty; expected a scenario mapping")
        return None
    if not isinstance(document, dict):
        problems.add(
            f"{path}: expected a mapping of scenario keys, found {type(document).__name__}"
        )
        return None
    if not _check_text(path, document, "", problems):
        return None
    _resolve_paths(document, path.parent)
    base = document.pop("base", None)
    if base is None:
        return document
    if not isinstance(base, str) or not base.strip():
        problems.add(
            f"{path}: field 'base': value {shown(base)}; expected the path of a base scenario "
            "file (text)"
        )
        return None
    base_path = Path(base)
    if not base_path.is_absolute():
        base_path = (path.parent / base_path).resolve()
    base_document = _load_document(base_path, problems, depth=depth + 1)
    if base_document is None:
        return None
    # a what-if is named as itself: without a name of its own, by its file name, never its base's
    document.setdefault("name", path.stem)
    return _merge(base_document, document)


def _check_text(path: Path, value: Any, where: str, problems: Problems) -> bool:
    """No NUL or other control character (tab, line breaks aside) in any key or text value."""
    if isinstance(value, dict):
        parts = [(k, where) for k in value]
        parts += [(v, f"{where}.{k}".lstrip(".")) for k, v in value.items()]
    elif isinstance(value, list):
        parts = [(v, f"{where}[{i}]") for i, v in enumerate(value)]
    elif isinstance(value, str) and CONTROL_CHARS.search(value):
        problems.add(
            f"{path}: field {where or '(key)'!r}: value {shown(value)} contains a control "
            "character (e.g. a NUL byte); expected plain text"
        )
        return False
    else:
        return True
    ok = True
    for part, part_where in parts:
        ok = _check_text(path, part, part_where, problems) and ok
    return ok


def _resolve_paths(document: dict[str, Any], folder: Path) -> None:
    """Make the document's file paths absolute, relative to its own folder."""
    data = document.get("data")
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str):
                data[key] = str((folder / value).resolve())
    roads = document.get("roads")
    if isinstance(roads, dict):
        for key in ("path", "closed_areas"):
            if isinstance(roads.get(key), str):
                roads[key] = str((folder / roads[key]).resolve())
    if isinstance(document.get("boundary"), str):
        document["boundary"] = str((folder / document["boundary"]).resolve())


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; other values replace."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _check_lonlat(
    file: Path | str, record: str, lon: float, lat: float, problems: Problems, *, prefix: str = ""
) -> None:
    lon_field, lat_field = f"{prefix}lon", f"{prefix}lat"
    if not -90 <= lat <= 90 and -90 <= lon <= 90 and -180 <= lat <= 180:
        problems.add(
            f"{file}: record {record!r}, fields {lon_field!r}/{lat_field!r}: values "
            f"({lon}, {lat}) look swapped; expected longitude first (-180..180) and "
            "latitude second (-90..90)"
        )
        return
    if not -180 <= lon <= 180:
        problems.record(file, record, lon_field, lon, "a longitude in -180..180 (WGS-84)")
    if not -90 <= lat <= 90:
        problems.record(file, record, lat_field, lat, "a latitude in -90..90 (WGS-84)")


Tables = dict[str, tuple[Path, list[dict[str, Any]]]]
"""Table name → (file, parsed rows), for every table of `specs.TABLE_SPECS`."""

# Cross-references, checked row by row in this order of tables (points come last, with their
# waste and time window): table → [(field, referenced table, what it must name)].
REFERENCES: dict[str, list[tuple[str, str, str]]] = {
    "villages": [("township_code", "townships", "township")],
    "stations": [("township_code", "townships", "township")],
    "depots": [("station_id", "stations", "station")],
    "vehicle_types": [("access_class", "access_classes", "access class")],
    "fleet": [("depot_id", "depots", "depot"), ("type_id", "vehicle_types", "vehicle type")],
    "disposal_sites": [],
    "points": [
        ("village_code", "villages", "village"),
        ("station_id", "stations", "station"),
        ("access_class", "access_classes", "access class"),
    ],
}

REFERENCED = ("townships", "villages", "stations", "depots", "vehicle_types")

# Times of day that must come in order within a record: table → (earlier, later) fields.
TIME_ORDER: dict[str, tuple[str, str]] = {
    "stations": ("open", "close"),
    "disposal_sites": ("gate_open", "gate_close"),
}

# Tables that `overrides:` may edit, by id.
OVERRIDABLE = ("points", "stations", "disposal_sites", "vehicle_types", "fleet", "villages")

# Record fields whose table column has another name (the columns hold times of day in s).
COLUMN_OF: dict[type, dict[str, str]] = {
    TransferStationRecord: {"open_s": "open", "close_s": "close"},
    DisposalSiteRecord: {"gate_open_s": "gate_open", "gate_close_s": "gate_close"},
}


def _build(path: Path, config: ScenarioConfig, problems: Problems) -> Scenario | None:
    tables = _read_tables(config, problems)
    _apply_overrides(
        path,
        config.overrides,
        {name: (tables[name][1], specs.TABLE_SPECS[name].id_column) for name in OVERRIDABLE},
        problems,
    )
    access_ids = [a.id for a in config.access_classes]
    if len(set(access_ids)) != len(access_ids):
        problems.add(f"{path}: field 'access_classes': duplicate id in {access_ids}")
    known = {
        target: {row[specs.TABLE_SPECS[target].id_column] for row in tables[target][1]}
        for target in REFERENCED
    }
    known["access_classes"] = set(access_ids)
    for name in REFERENCES:
        if name != "points":
            _check_rows(name, tables[name], known, problems)
    points = _points(config, tables["points"], known, problems)
    points = _territory_trucks(config, tables, points, problems)
    _check_settings(path, config, known["townships"], problems)
    _check_points(config, tables["points"][0], points, problems)
    sorted_streams = load_streams(path, config, tables, points, problems)
    if config.boundary is not None and not problems:
        for problem in boundary_problems(Path(config.boundary), path, points, tables["points"][0]):
            problems.add(problem)
    if problems:
        return None
    return _assemble(path, config, tables, sorted_streams)


def _read_tables(config: ScenarioConfig, problems: Problems) -> Tables:
    """Parse every data table (checking each record's coordinates on the way)."""
    tables: Tables = {}
    for name, spec in specs.TABLE_SPECS.items():
        file = Path(getattr(config.data, name))
        prefix = "seat_" if name == "townships" else ""

        def coords(
            row: dict[str, Any], record: str, file: Path = file, prefix: str = prefix
        ) -> None:
            if f"{prefix}lon" in row:
                _check_lonlat(
                    file, record, row[f"{prefix}lon"], row[f"{prefix}lat"], problems, prefix=prefix
                )

        rows = parse_table(file, spec, problems, declared_crs=config.crs, extra_check=coords)
        tables[name] = (file, rows)
    return tables


def _check_rows(
    name: str,
    table: tuple[Path, list[dict[str, Any]]],
    known: dict[str, set[str]],
    problems: Problems,
) -> None:
    """Per record of one table: its references, its times in order, its vehicle times."""
    file, rows = table
    id_column = specs.TABLE_SPECS[name].id_column
    for row in rows:
        _check_references(name, file, row, known, problems)
        if name in TIME_ORDER:
            earlier, later = TIME_ORDER[name]
            if row[later] <= row[earlier]:
                problems.record(
                    file,
                    row[id_column],
                    later,
                    _hhmm(row[later]),
                    f"a time after {earlier} ({_hhmm(row[earlier])})",
                )
        if name == "vehicle_types":
            _check_vehicle_times(file, row, problems)


def _check_references(
    name: str, file: Path, row: dict[str, Any], known: dict[str, set[str]], problems: Problems
) -> None:
    id_column = specs.TABLE_SPECS[name].id_column
    for field, target, what in REFERENCES[name]:
        value = row.get(field)
        ids = known[target]
        if value is not None and ids and value not in ids:  # no ids: that table failed
            problems.record(file, row[id_column], field, value, f"the id of a known {what}")


def _points(
    config: ScenarioConfig,
    table: tuple[Path, list[dict[str, Any]]],
    known: dict[str, set[str]],
    problems: Problems,
) -> list[CollectionPoint]:
    """The collection points (references, waste and time window checked, row by row)."""
    file, rows = table
    default_class = config.access_classes[-1].id if config.access_classes else None
    points: list[CollectionPoint] = []
    for row in rows:
        _check_references("points", file, row, known, problems)
        waste = _point_waste(file, row, config.default_kg_per_person_day, problems)
        tw_open = row["tw_open"] if row["tw_open"] is not None else 0
        tw_close = row["tw_close"] if row["tw_close"] is not None else 24 * 3600
        if tw_close < tw_open:
            problems.record(
                file,
                row["point_id"],
                "tw_close",
                _hhmm(tw_close),
                f"a time at or after tw_open ({_hhmm(tw_open)})",
            )
        if waste is None:
            continue
        computed = {
            "waste_t_per_day": waste,
            "tw_open_s": tw_open,
            "tw_close_s": tw_close,
            "access_class": row["access_class"] or default_class,
        }
        points.append(_record(CollectionPoint, row, computed))
    return points


def _territory_trucks(
    config: ScenarioConfig,
    tables: Tables,
    points: list[CollectionPoint],
    problems: Problems,
) -> list[CollectionPoint]:
    """``points.truck_id``, overridden by the territory layer (``data.territories``), each
    checked: the truck's depot and type exist, the type collects, the depot's fleet has that
    many of it, and the type's access class may serve the point."""
    by_id = {p.point_id: p for p in points}
    assigned = {p.point_id: (p.truck_id, tables["points"][0]) for p in points if p.truck_id}
    if config.data.territories is not None:
        layer = Path(config.data.territories)
        for row in parse_table(layer, specs.TERRITORIES, problems, layer="territories"):
            if row["point_id"] not in by_id:
                problems.record(
                    layer, row["point_id"], "point_id", row["point_id"], "the id of a known point"
                )
                continue
            assigned[row["point_id"]] = (row["truck_id"], layer)
    if not assigned:
        return points
    fleet: dict[tuple[str, str], int] = {}
    for row in tables["fleet"][1]:
        key = (row["depot_id"], row["type_id"])
        fleet[key] = fleet.get(key, 0) + row["count"]
    types = {row["type_id"]: row for row in tables["vehicle_types"][1]}
    rank = {a.id: i for i, a in enumerate(config.access_classes)}
    for point_id, (truck, file) in sorted(assigned.items()):
        point = by_id[point_id]
        depot_id, type_id, number = split_truck_id(truck)
        vtype = types.get(type_id)
        if vtype is None or vtype["role"] != "collection":
            expected = f"a collection truck depot/type#n; {type_id!r} is no collection type"
        elif fleet.get((depot_id, type_id), 0) < number:
            have = fleet.get((depot_id, type_id), 0)
            expected = f"a truck of the fleet; depot {depot_id!r} has {have} {type_id}"
        elif rank.get(vtype["access_class"], 0) > rank.get(point.access_class, len(rank)):
            expected = (
                f"a truck that may reach the point: {type_id} is of access class "
                f"{vtype['access_class']!r}, the point allows {point.access_class!r} at most"
            )
        else:
            by_id[point_id] = dataclasses.replace(point, truck_id=truck)
            continue
        problems.record(file, point_id, "truck_id", truck, expected)
    return [by_id[p.point_id] for p in points]


def _check_settings(
    path: Path, config: ScenarioConfig, township_codes: set[str], problems: Problems
) -> None:
    """The scenario file's own settings: seasons, roads and boundary."""
    for seasonal in config.seasonal_multipliers:
        if seasonal.end < seasonal.start:
            problems.add(
                f"{path}: field 'seasonal_multipliers' ({seasonal.name}): end {seasonal.end} "
                f"is before start {seasonal.start}"
            )
        for code in seasonal.townships:
            if code not in township_codes:
                problems.add(
                    f"{path}: field 'seasonal_multipliers' ({seasonal.name}): township "
                    f"{code!r} is not a known township code"
                )
    _check_crs(path, config.crs, problems)
    if config.policy.consistency != "none" and config.policy.fleet == "minimise":
        problems.add(
            f"{path}: field 'policy.consistency': value {config.policy.consistency!r}; "
            "expected 'none' with policy.fleet 'minimise' (the fleet search does not keep "
            "territories)"
        )
    for road_id in config.roads.closed_road_ids:
        if not road_id:
            problems.add(f"{path}: field 'roads.closed_road_ids': empty id")
    if config.roads.source in {"lines", "osm"} and config.roads.path is None:
        problems.add(
            f"{path}: field 'roads.path': missing; expected the road file for source "
            f"{config.roads.source!r}"
        )
    for field, what, named in (
        ("roads.path", "road", config.roads.path),
        ("roads.closed_areas", "closed-areas", config.roads.closed_areas),
        ("boundary", "boundary", config.boundary),
    ):
        if named is not None and not Path(named).is_file():
            found = "is a folder, not a file" if Path(named).is_dir() else "file not found"
            problems.add(f"{named}: {what} {found} (named by {path} {field!r})")


def _check_crs(path: Path, crs: str, problems: Problems) -> None:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(crs)
    except CRSError:
        problems.add(
            f"{path}: field 'crs': value {shown(crs)}; expected a coordinate reference system "
            "such as EPSG:4326"
        )


def _check_points(
    config: ScenarioConfig, points_file: Path, points: list[CollectionPoint], problems: Problems
) -> None:
    """A fixed assignment names a station for every point; there is at least one point."""
    if config.policy.assignment == "fixed":
        for point in points:
            if point.station_id is None:
                problems.record(
                    points_file,
                    point.point_id,
                    "station_id",
                    "",
                    "a station id for every point (policy.assignment is fixed)",
                )
    if not points and not problems:
        problems.add(f"{points_file}: no collection points; expected at least one")


def _record(cls: type[R], row: dict[str, Any], computed: dict[str, Any] | None = None) -> R:
    """A model record from a parsed row: each field from ``computed``, else from its column
    (`COLUMN_OF` names the columns that differ from the field), else its default."""
    computed = computed or {}
    columns = COLUMN_OF.get(cls, {})
    values = {
        f.name: computed[f.name] if f.name in computed else row[columns.get(f.name, f.name)]
        for f in dataclasses.fields(cls)
        if f.name in computed or columns.get(f.name, f.name) in row  # else the field's default
    }
    return cls(**values)


def _assemble(path: Path, config: ScenarioConfig, tables: Tables, sorted: StreamTables) -> Scenario:
    """The `Scenario` of checked tables and settings."""

    def records(cls: type[R], name: str) -> tuple[R, ...]:
        return tuple(_record(cls, row) for row in tables[name][1])

    def sites(cls: type[R], name: str) -> tuple[R, ...]:
        return tuple(
            _record(cls, row, {"streams": stream_list(row["streams"])}) for row in tables[name][1]
        )

    roads = config.roads
    policy = config.policy
    return Scenario(
        name=config.name,
        description=config.description,
        source_path=path.resolve(),
        plan_date=config.date,
        townships=records(Township, "townships"),
        villages=records(Village, "villages"),
        points=tuple(sorted.points),
        stations=sites(TransferStationRecord, "stations"),
        disposal_sites=sites(DisposalSiteRecord, "disposal_sites"),
        depots=records(Depot, "depots"),
        vehicle_types=tuple(_vehicle_type(r) for r in tables["vehicle_types"][1]),
        fleet=records(FleetEntry, "fleet"),
        access_classes=tuple(
            AccessClass(a.id, a.min_road_width_m, a.gross_weight_t) for a in config.access_classes
        ),
        seasonal_multipliers=tuple(
            SeasonalMultiplier(s.name, s.start, s.end, s.multiplier, tuple(s.townships))
            for s in config.seasonal_multipliers
        ),
        roads=RoadSource(
            kind=roads.source,
            path=Path(roads.path) if roads.path else None,
            max_snap_distance_m=roads.max_snap_distance_m,
            closed_road_ids=tuple(roads.closed_road_ids),
            closed_areas_path=Path(roads.closed_areas) if roads.closed_areas else None,
        ),
        costs=Costs(
            config.costs.transfer_cost_cny_per_t_km,
            config.costs.driver_cost_cny_per_hour,
            config.costs.co2_kg_per_l_diesel,
        ),
        policy=Policy(
            round(policy.max_point_station_travel_min * 60),
            policy.keep_villages_together,
            policy.township_preference_cny_per_t,
            policy.keep_existing_open,
            policy.assignment,
            fleet=policy.fleet,
            siting=policy.siting,
            consistency=policy.consistency,
            consistency_penalty_cny=policy.consistency_penalty_cny,
            balance_max_ratio=policy.balance_max_ratio,
        ),
        default_kg_per_person_day=config.default_kg_per_person_day,
        boundary_path=Path(config.boundary) if config.boundary else None,
        notes=tuple(config.notes),
        table_paths={name: file for name, (file, _) in tables.items()}
        | ({"facilities": Path(config.data.facilities)} if config.data.facilities else {}),
        streams=sorted.streams,
        facilities=sorted.facilities,
    )


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _point_waste(
    file: Path, row: dict[str, Any], default_rate: float, problems: Problems
) -> float | None:
    """Waste generation (t/day): given directly, or population × kg/person/day."""
    if row["waste_t_per_day"] is not None:
        return float(row["waste_t_per_day"])
    if row["population"] is not None:
        rate = row["kg_per_person_day"] if row["kg_per_person_day"] is not None else default_rate
        return float(row["population"] * rate / 1000.0)
    problems.record(
        file,
        row["point_id"],
        "waste_t_per_day",
        "",
        "waste_t_per_day, or population (with kg_per_person_day or the default)",
    )
    return None


def _check_vehicle_times(file: Path, row: dict[str, Any], problems: Problems) -> None:
    record = row["type_id"]
    if row["shift_end"] <= row["shift_start"]:
        problems.record(
            file,
            record,
            "shift_end",
            _hhmm(row["shift_end"]),
            f"a time after shift_start ({_hhmm(row['shift_start'])})",
        )
    if row["lunch_duration_min"] > 0:
        start, end = row["lunch_window_start"], row["lunch_window_end"]
        if start is None or end is None:
            problems.record(
                file,
                record,
                "lunch_window_start",
                start,
                "a lunch window (both start and end) when lunch_duration_min > 0",
            )
        elif end - start < row["lunch_duration_min"] * 60:
            problems.record(
                file,
                record,
                "lunch_window_end",
                _hhmm(end),
                f"a window at least lunch_duration_min ({row['lunch_duration_min']} min) long",
            )


def _vehicle_type(r: dict[str, Any]) -> VehicleTypeRecord:
    lunch = r["lunch_duration_min"] * 60
    return VehicleTypeRecord(
        type_id=r["type_id"],
        name=r["name"],
        role=r["role"],
        capacity_t=r["capacity_t"],
        access_class=r["access_class"],
        fixed_cost_cny_per_day=r["fixed_cost_cny_per_day"],
        cost_per_km_cny=r["cost_per_km_cny"],
        cost_per_hour_cny=r["cost_per_hour_cny"],
        shift_start_s=r["shift_start"],
        shift_end_s=r["shift_end"],
        max_duration_s=round(r["max_duration_h"] * 3600),
        lunch_duration_s=lunch,
        lunch_window_start_s=r["lunch_window_start"] if lunch else 0,
        lunch_window_end_s=r["lunch_window_end"] if lunch else 0,
        fuel_l_per_100km=r["fuel_l_per_100km"],
        compartments=compartments(r["compartments"], r["stream"], r["capacity_t"]),
    )


def _apply_overrides(
    path: Path,
    overrides: dict[str, dict[str, dict[str, Any]]],
    tables: dict[str, tuple[list[dict[str, Any]], str]],
    problems: Problems,
) -> None:
    """Edit parsed records by id (values are parsed by the table's column declarations)."""
    for table_name, edits in overrides.items():
        if table_name not in tables:
            problems.add(
                f"{path}: field 'overrides.{table_name}': unknown table; expected one of "
                f"{', '.join(sorted(tables))}"
            )
            continue
        rows, id_column = tables[table_name]
        by_id = {row[id_column]: row for row in rows}
        for record_id, changes in edits.items():
            key = str(record_id)
            if key not in by_id:
                problems.add(
                    f"{path}: field 'overrides.{table_name}.{key}': no {table_name} record "
                    f"with {id_column} {key!r}"
                )
                continue
            if not isinstance(changes, dict):
                problems.add(f"{path}: field 'overrides.{table_name}.{key}': expected a mapping")
                continue
            _override_record(path, table_name, key, by_id[key], changes, problems)


def _override_record(
    path: Path,
    table_name: str,
    key: str,
    row: dict[str, Any],
    changes: dict[str, Any],
    problems: Problems,
) -> None:
    """Edit one parsed record (values parsed by its columns; edited coordinates re-checked)."""
    spec = specs.TABLE_SPECS[table_name]
    columns = {c.name: c for c in spec.columns}
    for field, value in changes.items():
        column = columns.get(field)
        if column is None or field == spec.id_column:
            problems.add(
                f"{path}: field 'overrides.{table_name}.{key}.{field}': not an editable "
                f"column of {table_name}"
            )
            continue
        try:
            row[field] = column.parse(value)
        except ValueError:
            problems.record(
                path, key, f"overrides.{table_name}.{field}", value, column.expectation()
            )
    prefix = "seat_" if table_name == "townships" else ""
    if {f"{prefix}lon", f"{prefix}lat"} & set(changes) and f"{prefix}lon" in row:
        _check_lonlat(
            f"{path} (overrides.{table_name})",
            key,
            row[f"{prefix}lon"],
            row[f"{prefix}lat"],
            problems,
            prefix=prefix,
        )
