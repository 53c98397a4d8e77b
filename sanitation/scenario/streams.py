"""Sorted streams (分类收运) of a scenario: declared streams, each point's streams, the sites
that accept them and the trucks that carry them, every cross-reference checked.

A scenario without ``streams:`` has the one stream ``""`` and none of this applies (declaring
a stream on a site, a truck or a point then is a problem). With streams:

- a point's stream takes its own rate from ``data.point_streams`` (t/day, or kg/person/day ×
  the point's population), else the stream's ``share`` of the point's generation; its
  frequency from that record, else the stream's, else daily for a perishable stream, else the
  point's; its bin likewise (else the point's bin). The point's generation becomes the sum of
  its streams;
- every collection truck type carries one ``stream`` (dedicated) or has ``compartments``;
- stations and disposal sites may list the ``streams`` they accept (empty: every stream);
  ``data.facilities`` adds perishable-treatment facilities, recycling centres and hazardous
  stores;
- every declared stream is carried by some truck of the fleet and accepted by some site, and
  every stream a record names is declared (each a problem naming file, record, field, value).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from sanitation.scenario import specs
from sanitation.scenario.config import ScenarioConfig
from sanitation.scenario.model import (
    CollectionPoint,
    FacilityKind,
    FacilityRecord,
    Frequency,
    PointStream,
    Stream,
)
from sanitation.scenario.tables import Problems, parse_table

#: declared shares of a point's generation must sum to 1 within this
SHARE_TOLERANCE = 0.001
#: compartment capacities (t) must sum to the truck's capacity within this (1 kg)
COMPARTMENT_TOLERANCE_T = 0.001

Rows = list[dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class StreamTables:
    """The streams, the points with their streams, and the facilities of a scenario."""

    streams: tuple[Stream, ...]
    points: list[CollectionPoint]
    facilities: tuple[FacilityRecord, ...]


def stream_list(value: str | None) -> frozenset[str] | None:
    """A ``streams`` cell (``a;b``) as a set; None for an empty cell (every stream)."""
    if value is None:
        return None
    return frozenset(part for part in value.split(";") if part)


def compartments(value: str | None, stream: str | None, capacity_t: float) -> tuple:
    """(stream, capacity t) per compartment of a truck type: its ``compartments`` cell, or one
    of ``stream`` with the whole capacity (a dedicated truck), or none."""
    if value:
        out = []
        for part in value.split(";"):
            name, _, tonnes = part.partition(":")
            out.append((name, float(tonnes)))
        return tuple(out)
    if stream:
        return ((stream, capacity_t),)
    return ()


def load_streams(
    path: Path,
    config: ScenarioConfig,
    tables: dict[str, tuple[Path, Rows]],
    points: list[CollectionPoint],
    problems: Problems,
) -> StreamTables:
    """The scenario's streams, its points with their streams, and its facilities (problems
    recorded; the points unchanged when the scenario declares no stream)."""
    declared = [s.id for s in config.streams]
    facilities = _facilities(config, problems)
    if not declared:
        _no_streams(path, config, tables, facilities, problems)
        return StreamTables((), points, ())
    if len(set(declared)) != len(declared):
        problems.add(f"{path}: field 'streams': duplicate id in {declared}")
    if config.policy.consistency != "none":
        problems.add(
            f"{path}: field 'policy.consistency': value {config.policy.consistency!r}; expected "
            "'none' with sorted streams (territories of sorted streams are not built yet)"
        )
    total_share = sum(s.share for s in config.streams)
    if abs(total_share - 1.0) > SHARE_TOLERANCE:
        problems.add(
            f"{path}: field 'streams': shares {[s.share for s in config.streams]} sum to "
            f"{total_share:g}; expected shares of a point's generation summing to 1"
        )
    streams = tuple(
        Stream(
            stream_id=s.id,
            name_zh=s.name_zh,
            name_en=s.name_en,
            perishable=s.perishable,
            frequency=s.frequency or ("daily" if s.perishable else None),
            share=s.share,
            bin_capacity_t=s.bin_capacity_t,
        )
        for s in config.streams
    )
    known = set(declared)
    _check_sites(tables, facilities, str(config.data.facilities), known, problems)
    carried = _check_trucks(tables, known, problems)
    _check_coverage(path, tables, facilities, streams, carried, problems)
    population = {row["point_id"]: row["population"] for row in tables["points"][1]}
    own = _point_stream_rows(config, population, known, problems)
    with_streams = [_with_streams(p, streams, own, population.get(p.point_id)) for p in points]
    return StreamTables(streams, with_streams, facilities)


def _no_streams(
    path: Path,
    config: ScenarioConfig,
    tables: dict[str, tuple[Path, Rows]],
    facilities: tuple[FacilityRecord, ...],
    problems: Problems,
) -> None:
    """Without declared streams no record may name one."""
    expected = "no stream (the scenario declares none under 'streams:')"
    if config.data.point_streams is not None:
        problems.add(f"{path}: field 'data.point_streams': given, but {expected[3:]}")
    if facilities:
        problems.add(f"{path}: field 'data.facilities': given, but {expected[3:]}")
    for name, field in (
        ("stations", "streams"),
        ("disposal_sites", "streams"),
        ("vehicle_types", "stream"),
        ("vehicle_types", "compartments"),
    ):
        file, rows = tables[name]
        id_column = specs.TABLE_SPECS[name].id_column
        for row in rows:
            if row.get(field):
                problems.record(file, row[id_column], field, row[field], expected)


def _facilities(config: ScenarioConfig, problems: Problems) -> tuple[FacilityRecord, ...]:
    if config.data.facilities is None:
        return ()
    file = Path(config.data.facilities)
    out = []
    for row in parse_table(file, specs.FACILITIES, problems, declared_crs=config.crs):
        if row["close"] <= row["open"]:
            problems.record(file, row["facility_id"], "close", row["close"], "a time after open")
            continue
        out.append(
            FacilityRecord(
                facility_id=row["facility_id"],
                name=row["name"],
                kind=cast(FacilityKind, row["kind"]),
                lon=row["lon"],
                lat=row["lat"],
                streams=stream_list(row["streams"]) or frozenset(),
                capacity_t_per_day=row["capacity_t_per_day"],
                open_s=row["open"],
                close_s=row["close"],
                unload_s=row["unload_s"],
                gate_fee_cny_per_t=row["gate_fee_cny_per_t"],
                synthetic=row["synthetic"],
                station_ids=stream_list(row["station_ids"]),
            )
        )
    return tuple(out)


def _check_sites(
    tables: dict[str, tuple[Path, Rows]],
    facilities: Sequence[FacilityRecord],
    facilities_file: str,
    known: set[str],
    problems: Problems,
) -> None:
    """Every stream a station, disposal site or facility accepts is declared."""
    expected = f"declared streams ({', '.join(sorted(known))}) separated by ';'"
    for name in ("stations", "disposal_sites"):
        file, rows = tables[name]
        id_column = specs.TABLE_SPECS[name].id_column
        for row in rows:
            unknown = (stream_list(row.get("streams")) or frozenset()) - known
            if unknown:
                problems.record(file, row[id_column], "streams", row["streams"], expected)
    stations = {row["station_id"] for row in tables["stations"][1]}
    for facility in facilities:
        if facility.streams - known:
            value = ";".join(sorted(facility.streams))
            problems.record(facilities_file, facility.facility_id, "streams", value, expected)
        if facility.station_ids is not None and facility.station_ids - stations:
            value = ";".join(sorted(facility.station_ids))
            problems.record(
                facilities_file, facility.facility_id, "station_ids", value, "ids of known stations"
            )


def _check_trucks(
    tables: dict[str, tuple[Path, Rows]], known: set[str], problems: Problems
) -> set[str]:
    """Every collection truck type carries declared streams (one ``stream`` or
    ``compartments`` summing to its capacity); returns the streams the fleet can carry."""
    file, rows = tables["vehicle_types"]
    in_fleet = {row["type_id"] for row in tables["fleet"][1] if row["count"] > 0}
    carried: set[str] = set()
    declared = f"declared streams ({', '.join(sorted(known))})"
    for row in rows:
        if row["role"] != "collection":
            continue
        record = row["type_id"]
        if bool(row["stream"]) == bool(row["compartments"]):
            problems.record(
                file,
                record,
                "stream",
                row["stream"] or "",
                "either the one stream the truck carries or its compartments (the scenario "
                "sorts its waste)",
            )
            continue
        parts = compartments(row["compartments"], row["stream"], row["capacity_t"])
        names = [name for name, _ in parts]
        field = "compartments" if row["compartments"] else "stream"
        value = row[field]
        if set(names) - known:
            problems.record(file, record, field, value, declared)
        elif len(set(names)) != len(names):
            problems.record(file, record, field, value, "each stream in one compartment")
        elif (
            abs(sum(t for _, t in parts) - row["capacity_t"]) > COMPARTMENT_TOLERANCE_T
            or min(t for _, t in parts) <= 0
        ):
            problems.record(
                file,
                record,
                field,
                value,
                f"compartments of > 0 t summing to capacity_t ({row['capacity_t']:g} t)",
            )
        elif record in in_fleet:
            carried.update(names)
    return carried


def _check_coverage(
    path: Path,
    tables: dict[str, tuple[Path, Rows]],
    facilities: Sequence[FacilityRecord],
    streams: Sequence[Stream],
    carried: set[str],
    problems: Problems,
) -> None:
    """Every declared stream: some truck of the fleet carries it, some site accepts it."""
    accepting: set[str | None] = set()
    for row in tables["stations"][1]:
        if row["status"] != "closed":
            accepted = stream_list(row.get("streams"))
            accepting.update(accepted if accepted is not None else {None})
    for facility in facilities:
        accepting.update(facility.streams)
    _check_station_coverage(tables, facilities, streams, problems)
    for stream in streams:
        record = stream.stream_id
        if record not in carried:
            problems.add(
                f"{path}: field 'streams', record {record!r}: no collection truck of the fleet "
                "carries it; expected a vehicle type with this stream (or a compartment of "
                "it) and a fleet count > 0"
            )
        if record not in accepting and None not in accepting:
            problems.add(
                f"{path}: field 'streams', record {record!r}: no station or facility accepts "
                "it; expected a site whose 'streams' lists it"
            )


def _check_station_coverage(
    tables: dict[str, tuple[Path, Rows]],
    facilities: Sequence[FacilityRecord],
    streams: Sequence[Stream],
    problems: Problems,
) -> None:
    """Each open or candidate station's trucks can unload every stream: at the station or at
    a facility serving it."""
    file, rows = tables["stations"]
    for row in rows:
        if row["status"] == "closed":
            continue
        accepted = stream_list(row.get("streams"))
        if accepted is None:
            continue
        reachable = set(accepted)
        for facility in facilities:
            if facility.serves(row["station_id"]):
                reachable |= facility.streams
        missing = [s.stream_id for s in streams if s.stream_id not in reachable]
        if missing:
            problems.record(
                file,
                row["station_id"],
                "streams",
                row["streams"],
                f"a site for its trucks' {', '.join(missing)}: the station, or a facility "
                "whose station_ids name it (or are empty)",
            )


def _point_stream_rows(
    config: ScenarioConfig,
    population: dict[str, int | None],
    known: set[str],
    problems: Problems,
) -> dict[tuple[str, str], dict[str, Any]]:
    """The ``point_streams`` records by (point, stream), each checked (``population``: persons
    of each known point, None where its table gives none)."""
    if config.data.point_streams is None:
        return {}
    file = Path(config.data.point_streams)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in parse_table(file, specs.POINT_STREAMS, problems):
        record = f"{row['point_id']}/{row['stream']}"
        if row["point_id"] not in population:
            problems.record(file, record, "point_id", row["point_id"], "the id of a known point")
        elif row["stream"] not in known:
            problems.record(
                file,
                record,
                "stream",
                row["stream"],
                f"a declared stream ({', '.join(sorted(known))})",
            )
        elif row["waste_t_per_day"] is not None and row["kg_per_person_day"] is not None:
            problems.record(
                file,
                record,
                "kg_per_person_day",
                row["kg_per_person_day"],
                "waste_t_per_day or kg_per_person_day, not both",
            )
        elif row["kg_per_person_day"] is not None and population[row["point_id"]] is None:
            problems.record(
                file,
                record,
                "kg_per_person_day",
                row["kg_per_person_day"],
                "waste_t_per_day (the point's record gives no population)",
            )
        else:
            out[(row["point_id"], row["stream"])] = row
    return out


def _with_streams(
    point: CollectionPoint,
    streams: Sequence[Stream],
    own: dict[tuple[str, str], dict[str, Any]],
    population: int | None,
) -> CollectionPoint:
    """The point with its streams; its generation the sum of theirs."""
    parts = []
    for stream in streams:
        row = own.get((point.point_id, stream.stream_id), {})
        rate = row.get("waste_t_per_day")
        if rate is None and row.get("kg_per_person_day") is not None:
            rate = (population or 0) * row["kg_per_person_day"] / 1000.0
        frequency = row.get("frequency") or stream.frequency or point.frequency
        bin_t = row.get("bin_capacity_t") or stream.bin_capacity_t or point.bin_capacity_t
        parts.append(
            PointStream(
                stream=stream.stream_id,
                waste_t_per_day=float(
                    rate if rate is not None else point.waste_t_per_day * stream.share
                ),
                frequency=cast(Frequency, frequency),
                bin_capacity_t=float(bin_t),
            )
        )
    total = sum(p.waste_t_per_day for p in parts)
    return dataclasses.replace(point, streams=tuple(parts), waste_t_per_day=total)
