"""Load a scenario YAML and its data files into a validated `Scenario`.

Every problem found is collected and raised once as `ScenarioError` (exit code 2): YAML syntax
(with line), missing/empty/unreadable/non-UTF-8 files, unknown or missing columns, bad values,
duplicate ids, unknown references, coordinates out of range or swapped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sanitation.errors import ScenarioError
from sanitation.scenario import specs
from sanitation.scenario.config import ScenarioConfig
from sanitation.scenario.model import (
    AccessClass,
    CollectionPoint,
    Costs,
    Depot,
    DisposalSite,
    FleetEntry,
    Policy,
    RoadSource,
    Scenario,
    SeasonalMultiplier,
    Township,
    TransferStation,
    VehicleType,
    Village,
)
from sanitation.scenario.tables import Problems, parse_table

MAX_BASE_DEPTH = 8


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
            value = item.get("input")
            shown = "(missing)" if item["type"] == "missing" else repr(value)
            problems.add(f"{path}: field {location!r}: value {shown}; {item['msg']}")
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
        document = yaml.safe_load(text)
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
    _resolve_paths(document, path.parent)
    base = document.pop("base", None)
    if base is None:
        return document
    base_path = Path(base)
    if not base_path.is_absolute():
        base_path = (path.parent / base_path).resolve()
    base_document = _load_document(base_path, problems, depth=depth + 1)
    if base_document is None:
        return None
    return _merge(base_document, document)


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
    file: Path, record: str, lon: float, lat: float, problems: Problems, *, prefix: str = ""
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


def _build(path: Path, config: ScenarioConfig, problems: Problems) -> Scenario | None:
    files = config.data
    crs = config.crs

    def table(name: str) -> tuple[Path, list[dict[str, Any]]]:
        file = Path(getattr(files, name))
        spec = specs.TABLE_SPECS[name]
        lon_prefix = "seat_" if name == "townships" else ""

        def coords(row: dict[str, Any], record: str) -> None:
            if f"{lon_prefix}lon" in row:
                _check_lonlat(
                    file,
                    record,
                    row[f"{lon_prefix}lon"],
                    row[f"{lon_prefix}lat"],
                    problems,
                    prefix=lon_prefix,
                )

        return file, parse_table(file, spec, problems, declared_crs=crs, extra_check=coords)

    _, township_rows = table("townships")
    villages_file, village_rows = table("villages")
    points_file, point_rows = table("points")
    stations_file, station_rows = table("stations")
    disposal_file, disposal_rows = table("disposal_sites")
    depots_file, depot_rows = table("depots")
    types_file, type_rows = table("vehicle_types")
    fleet_file, fleet_rows = table("fleet")

    _apply_overrides(
        path,
        config.overrides,
        {
            "points": (point_rows, "point_id"),
            "stations": (station_rows, "station_id"),
            "disposal_sites": (disposal_rows, "site_id"),
            "vehicle_types": (type_rows, "type_id"),
            "fleet": (fleet_rows, "fleet_id"),
            "villages": (village_rows, "code"),
        },
        problems,
    )

    access_ids = [a.id for a in config.access_classes]
    if len(set(access_ids)) != len(access_ids):
        problems.add(f"{path}: field 'access_classes': duplicate id in {access_ids}")
    township_codes = {row["code"] for row in township_rows}
    village_codes = {row["code"] for row in village_rows}
    station_ids = {row["station_id"] for row in station_rows}
    depot_ids = {row["depot_id"] for row in depot_rows}
    type_ids = {row["type_id"] for row in type_rows}

    def ref(
        file: Path, row: dict[str, Any], record_key: str, field: str, known: set[str], what: str
    ) -> None:
        value = row.get(field)
        if value is not None and known and value not in known:  # empty: that table failed
            problems.record(file, row[record_key], field, value, f"the id of a known {what}")

    for row in village_rows:
        ref(villages_file, row, "code", "township_code", township_codes, "township")
    for row in station_rows:
        ref(stations_file, row, "station_id", "township_code", township_codes, "township")
        if row["close"] <= row["open"]:
            problems.record(
                stations_file,
                row["station_id"],
                "close",
                _hhmm(row["close"]),
                f"a time after open ({_hhmm(row['open'])})",
            )
    for row in depot_rows:
        ref(depots_file, row, "depot_id", "station_id", station_ids, "station")
    for row in type_rows:
        ref(types_file, row, "type_id", "access_class", set(access_ids), "access class")
        _check_vehicle_times(types_file, row, problems)
    for row in fleet_rows:
        ref(fleet_file, row, "fleet_id", "depot_id", depot_ids, "depot")
        ref(fleet_file, row, "fleet_id", "type_id", type_ids, "vehicle type")
    for row in disposal_rows:
        if row["gate_close"] <= row["gate_open"]:
            problems.record(
                disposal_file,
                row["site_id"],
                "gate_close",
                _hhmm(row["gate_close"]),
                f"a time after gate_open ({_hhmm(row['gate_open'])})",
            )

    points: list[CollectionPoint] = []
    for row in point_rows:
        ref(points_file, row, "point_id", "village_code", village_codes, "village")
        ref(points_file, row, "point_id", "station_id", station_ids, "station")
        ref(points_file, row, "point_id", "access_class", set(access_ids), "access class")
        waste = _point_waste(points_file, row, config.default_kg_per_person_day, problems)
        tw_open = row["tw_open"] if row["tw_open"] is not None else 0
        tw_close = row["tw_close"] if row["tw_close"] is not None else 24 * 3600
        if tw_close < tw_open:
            problems.record(
                points_file,
                row["point_id"],
                "tw_close",
                _hhmm(tw_close),
                f"a time at or after tw_open ({_hhmm(tw_open)})",
            )
        if waste is None:
            continue
        points.append(
            CollectionPoint(
                point_id=row["point_id"],
                name=row["name"],
                village_code=row["village_code"],
                lon=row["lon"],
                lat=row["lat"],
                waste_t_per_day=waste,
                bin_capacity_t=row["bin_capacity_t"],
                frequency=row["frequency"],
                service_s=row["service_s"],
                tw_open_s=tw_open,
                tw_close_s=tw_close,
                access_class=row["access_class"] or access_ids[-1],
                priority=row["priority"],
                synthetic=row["synthetic"],
                station_id=row["station_id"],
            )
        )

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
    for road_id in config.roads.closed_road_ids:
        if not road_id:
            problems.add(f"{path}: field 'roads.closed_road_ids': empty id")
    if config.roads.source in {"lines", "osm"} and config.roads.path is None:
        problems.add(
            f"{path}: field 'roads.path': missing; expected the road file for source "
            f"{config.roads.source!r}"
        )
    if config.roads.path is not None and not Path(config.roads.path).is_file():
        problems.add(f"{config.roads.path}: road file not found (named by {path} 'roads.path')")
    if config.boundary is not None and not Path(config.boundary).is_file():
        problems.add(f"{config.boundary}: boundary file not found (named by {path} 'boundary')")
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
    if problems:
        return None

    return Scenario(
        name=config.name,
        description=config.description,
        source_path=path.resolve(),
        plan_date=config.date,
        townships=tuple(
            Township(r["code"], r["name"], r["kind"], r["seat_lon"], r["seat_lat"], r["synthetic"])
            for r in township_rows
        ),
        villages=tuple(
            Village(
                r["code"],
                r["name"],
                r["township_code"],
                r["urban_rural_class"],
                r["population"],
                r["lon"],
                r["lat"],
                r["synthetic"],
            )
            for r in village_rows
        ),
        points=tuple(points),
        stations=tuple(_station(r) for r in station_rows),
        disposal_sites=tuple(
            DisposalSite(
                r["site_id"],
                r["name"],
                r["kind"],
                r["lon"],
                r["lat"],
                r["capacity_t_per_day"],
                r["gate_open"],
                r["gate_close"],
                r["gate_fee_cny_per_t"],
                r["unload_s"],
                r["location_note"],
                r["synthetic"],
            )
            for r in disposal_rows
        ),
        depots=tuple(
            Depot(r["depot_id"], r["name"], r["lon"], r["lat"], r["station_id"], r["synthetic"])
            for r in depot_rows
        ),
        vehicle_types=tuple(_vehicle_type(r) for r in type_rows),
        fleet=tuple(FleetEntry(r["depot_id"], r["type_id"], r["count"]) for r in fleet_rows),
        access_classes=tuple(
            AccessClass(a.id, a.min_road_width_m, a.gross_weight_t) for a in config.access_classes
        ),
        seasonal_multipliers=tuple(
            SeasonalMultiplier(s.name, s.start, s.end, s.multiplier, tuple(s.townships))
            for s in config.seasonal_multipliers
        ),
        roads=RoadSource(
            kind=config.roads.source,
            path=Path(config.roads.path) if config.roads.path else None,
            max_snap_distance_m=config.roads.max_snap_distance_m,
            closed_road_ids=tuple(config.roads.closed_road_ids),
            closed_areas_path=Path(config.roads.closed_areas)
            if config.roads.closed_areas
            else None,
        ),
        costs=Costs(
            config.costs.transfer_cost_cny_per_t_km,
            config.costs.driver_cost_cny_per_hour,
            config.costs.co2_kg_per_l_diesel,
        ),
        policy=Policy(
            round(config.policy.max_point_station_travel_min * 60),
            config.policy.keep_villages_together,
            config.policy.township_preference_cny_per_t,
            config.policy.keep_existing_open,
            config.policy.assignment,
        ),
        default_kg_per_person_day=config.default_kg_per_person_day,
        boundary_path=Path(config.boundary) if config.boundary else None,
        notes=tuple(config.notes),
        table_paths={name: Path(getattr(files, name)) for name in specs.TABLE_SPECS},
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
        return row["population"] * rate / 1000.0
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


def _station(r: dict[str, Any]) -> TransferStation:
    return TransferStation(
        station_id=r["station_id"],
        name=r["name"],
        township_code=r["township_code"],
        lon=r["lon"],
        lat=r["lat"],
        status=r["status"],
        capacity_t_per_day=r["capacity_t_per_day"],
        fixed_cost_cny_per_day=r["fixed_cost_cny_per_day"],
        opening_cost_cny_per_day=r["opening_cost_cny_per_day"],
        open_s=r["open"],
        close_s=r["close"],
        unload_s=r["unload_s"],
        expansion_module_t_per_day=r["expansion_module_t_per_day"],
        expansion_cost_cny_per_day=r["expansion_cost_cny_per_day"],
        max_expansions=r["max_expansions"],
        container_t=r["container_t"],
        synthetic=r["synthetic"],
    )


def _vehicle_type(r: dict[str, Any]) -> VehicleType:
    lunch = r["lunch_duration_min"] * 60
    return VehicleType(
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
        spec = specs.TABLE_SPECS[table_name]
        columns = {c.name: c for c in spec.columns}
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
            for field, value in changes.items():
                column = columns.get(field)
                if column is None or field == id_column:
                    problems.add(
                        f"{path}: field 'overrides.{table_name}.{key}.{field}': not an editable "
                        f"column of {table_name}"
                    )
                    continue
                try:
                    by_id[key][field] = column.parse(value)
                except ValueError:
                    problems.record(
                        path, key, f"overrides.{table_name}.{field}", value, column.expectation()
                    )
