"""Reading the scenario's data tables (CSV, XLSX, GeoJSON, GeoPackage) with declared columns.

Every problem is collected (file, record id, field, value, what was expected) and the loader
raises one `ScenarioError` listing them all.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_SHOWN = 80


def shown(value: Any) -> str:
    """``repr(value)`` for a message, cut to `MAX_SHOWN` characters (values can be huge)."""
    text = repr(value)
    if len(text) > MAX_SHOWN:
        return f"{text[: MAX_SHOWN - 20]}... ({len(text):,} characters)"
    return text


class Problems:
    """Collects problem messages; one message per problem."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        """Record one problem."""
        self.items.append(message)

    def record(self, file: Path | str, record: str, field: str, value: Any, expected: str) -> None:
        """Record a field problem in the standard form."""
        self.add(
            f"{file}: record {shown(record)}, field {field!r}: value {shown(value)}; "
            f"expected {expected}"
        )

    def __bool__(self) -> bool:
        return bool(self.items)


def _parse_time_of_day(text: str) -> int:
    """'HH:MM' → seconds after midnight (24:00 allowed)."""
    match = TIME_RE.match(text.strip())
    if not match:
        raise ValueError(text)
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 24 or minutes > 59 or (hours == 24 and minutes > 0):
        raise ValueError(text)
    return hours * 3600 + minutes * 60


def _time_value_of_day(value: dt.time) -> int:
    """A ``datetime.time`` (an Excel time cell, a GeoJSON "05:00") → seconds, to the minute."""
    return value.hour * 3600 + value.minute * 60 + round(value.second / 60) * 60


def _number_text(number: float) -> str:
    """A bound for a message: ``10000000``, ``0.5`` (never ``1e+07``)."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"true", "1", "yes", "y"}:
        return True
    if lowered in {"false", "0", "no", "n", ""}:
        return False
    raise ValueError(text)


@dataclass(frozen=True)
class Column:
    """A declared table column.

    ``kind`` is one of ``str``, ``float``, ``int``, ``time`` (HH:MM → s), ``bool``, ``choice``.
    ``minimum`` applies to numbers; ``pattern`` to strings; ``choices`` to ``choice``.
    """

    name: str
    kind: str = "str"
    required: bool = True
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    unit: str = ""

    def expectation(self) -> str:
        """What a valid value looks like, for messages."""
        unit = f" ({self.unit})" if self.unit else ""
        if self.kind == "time":
            return "a time of day HH:MM"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind in {"float", "int"}:
            kind = "a number" if self.kind == "float" else "a whole number"
            lower = upper = ""
            if self.minimum is not None:
                lower = f" {'>' if self.exclusive_minimum else '>='} {_number_text(self.minimum)}"
            if self.maximum is not None:
                upper = f" <= {_number_text(self.maximum)}"
            if lower and upper:
                return f"{kind}{lower}{unit} and{upper}"
            return f"{kind}{lower}{upper}{unit}"
        if self.pattern:
            return f"text matching {self.pattern}"
        return "non-empty text"

    def parse(self, raw: Any) -> Any:
        """Parse one raw cell; raise ValueError when it does not fit."""
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            raw = ""
        if self.kind == "time" and isinstance(raw, dt.time):  # an Excel or GeoJSON time
            return _time_value_of_day(raw)
        text = str(raw).strip() if not isinstance(raw, int | float) else raw
        if isinstance(text, str) and text == "":
            if self.required:
                raise ValueError("missing")
            return self.default
        if isinstance(text, str) and CONTROL_CHARS.search(text):
            raise ValueError(text)
        if self.kind == "str":
            value = str(text)
            if self.pattern and not re.fullmatch(self.pattern, value):
                raise ValueError(value)
            return value
        if self.kind == "choice":
            if str(text) not in self.choices:
                raise ValueError(text)
            return str(text)
        if self.kind == "time":
            return _parse_time_of_day(str(text))
        if self.kind == "bool":
            return _parse_bool(str(text))
        return self._number(text)

    def _number(self, text: Any) -> float | int:
        """A number within the declared range (``int`` for whole-number columns)."""
        try:
            number = float(text)
        except OverflowError:  # an integer too large for a float
            raise ValueError(text) from None
        if math.isnan(number) or math.isinf(number):
            raise ValueError(text)
        if self.kind == "int":
            if number != int(number):
                raise ValueError(text)
            number = int(number)
        if self.minimum is not None and (
            number < self.minimum or (self.exclusive_minimum and number == self.minimum)
        ):
            raise ValueError(text)
        if self.maximum is not None and number > self.maximum:
            raise ValueError(text)
        return number


def read_rows(
    path: Path, problems: Problems, *, layer: str | None = None
) -> list[dict[str, Any]] | None:
    """Raw rows of a table file (CSV UTF-8, XLSX, GeoJSON, GPKG), or None after a problem.

    Point geometries of spatial files become ``lon``/``lat`` columns; their CRS is reported in
    the ``__crs__`` key of the first row for the caller to check. ``layer``: the layer of a
    GeoPackage to read when it has one of that name (default and otherwise its first).
    """
    if not path.exists():
        problems.add(f"{path}: file not found")
        return None
    if not path.is_file():
        problems.add(f"{path}: not a file")
        return None
    if path.stat().st_size == 0:
        problems.add(f"{path}: file is empty; expected a header row and records")
        return None
    suffix = path.suffix.lower()
    try:
        if suffix in {".csv", ".txt"}:
            return _read_csv(path, problems)
        if suffix == ".xlsx":
            return _read_xlsx(path, problems)
        if suffix in {".geojson", ".json", ".gpkg", ".shp"}:
            return _read_spatial(path, problems, layer=layer)
    except PermissionError:
        problems.add(f"{path}: file is not readable (permission denied)")
        return None
    problems.add(f"{path}: unsupported file type {suffix!r}; expected .csv, .xlsx, .geojson, .gpkg")
    return None


def _read_csv(path: Path, problems: Problems) -> list[dict[str, Any]] | None:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.add(
            f"{path}: line {line}: byte {data[error.start : error.start + 1]!r} is not UTF-8 "
            "text; expected the file saved as UTF-8 (e.g. 'CSV UTF-8' in Excel, not GBK)"
        )
        return None
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None:
        problems.add(f"{path}: file is empty; expected a header row and records")
        return None
    if not _unique_header(path, list(reader.fieldnames), problems):
        return None
    rows = []
    for line_no, row in enumerate(reader, start=2):
        if None in row:
            problems.add(f"{path}: line {line_no}: more values than header columns")
            continue
        row["__line__"] = line_no
        rows.append(row)
    if not rows:
        problems.add(f"{path}: no records after the header; expected at least one")
        return None
    return rows


def _unique_header(path: Path, header: list[str], problems: Problems) -> bool:
    """Each column named once in the header row (else which value is meant is a guess)."""
    names = [name.strip() for name in header]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        problems.add(
            f"{path}: line 1: column(s) {', '.join(repr(n) for n in twice)} appear more than "
            "once in the header; expected each column once"
        )
        return False
    return True


def _read_xlsx(path: Path, problems: Problems) -> list[dict[str, Any]] | None:
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            values = list(workbook.worksheets[0].iter_rows(values_only=True))
        finally:
            workbook.close()
    except (InvalidFileException, OSError, KeyError, ValueError, IndexError, BadZipFile) as error:
        problems.add(f"{path}: not a readable XLSX workbook ({error}); expected an Excel .xlsx")
        return None
    if not values:
        problems.add(f"{path}: workbook is empty; expected a header row and records")
        return None
    header = [str(h).strip() if h is not None else "" for h in values[0]]
    if not _unique_header(path, [h for h in header if h], problems):
        return None
    rows = []
    for line_no, cells in enumerate(values[1:], start=2):
        if all(c is None for c in cells):
            continue
        row: dict[str, Any] = dict(zip(header, cells, strict=False))
        row["__line__"] = line_no
        rows.append(row)
    if not rows:
        problems.add(f"{path}: no records after the header; expected at least one")
        return None
    return rows


def _read_spatial(
    path: Path, problems: Problems, *, layer: str | None = None
) -> list[dict[str, Any]] | None:
    import pyogrio
    from pyogrio.errors import DataSourceError

    try:
        if layer is not None and layer not in {str(n) for n, _ in pyogrio.list_layers(path)}:
            layer = None
        frame = pyogrio.read_dataframe(path, layer=layer)
    except (DataSourceError, UnicodeDecodeError, ValueError) as error:
        problems.add(f"{path}: not a readable spatial file ({error})")
        return None
    if len(frame) == 0:
        problems.add(f"{path}: no features; expected at least one")
        return None
    crs = frame.crs.to_string() if frame.crs is not None else None
    rows = []
    for index, record in enumerate(frame.to_dict("records")):
        geometry = record.pop("geometry", None)
        if geometry is not None and geometry.geom_type == "Point":
            record.setdefault("lon", geometry.x)
            record.setdefault("lat", geometry.y)
        record["__line__"] = f"feature {index + 1}"
        rows.append(record)
    rows[0]["__crs__"] = crs
    return rows


@dataclass(frozen=True)
class TableSpec:
    """The columns of one table, its id column, and how to name it in messages.

    ``key_columns``: the columns whose values together are unique (default: the id column);
    a record is then named by them joined with ``/``.
    """

    name: str
    id_column: str
    columns: tuple[Column, ...]
    key_columns: tuple[str, ...] = ()

    @property
    def column_names(self) -> set[str]:
        """All declared column names."""
        return {c.name for c in self.columns}


def parse_table(
    path: Path,
    spec: TableSpec,
    problems: Problems,
    *,
    declared_crs: str = "EPSG:4326",
    extra_check: Callable[[dict[str, Any], str], None] | None = None,
    layer: str | None = None,
) -> list[dict[str, Any]]:
    """Read and parse a table: unknown/missing columns, types, ranges and duplicate ids.

    Returns parsed rows (with ``__line__``); bad rows are left out after their problem is
    recorded, so one bad record does not hide problems in others.
    """
    rows = read_rows(path, problems, layer=layer)
    if rows is None:
        return []
    file_crs = rows[0].pop("__crs__", None)
    if file_crs is not None and not _same_crs(file_crs, declared_crs):
        problems.add(
            f"{path}: coordinate reference system is {file_crs}; expected {declared_crs} "
            "(as the scenario declares; convert the file or change 'crs')"
        )
        return []
    present = {k for k in rows[0] if not k.startswith("__")}
    if path.suffix.lower() in {".geojson", ".json", ".gpkg", ".shp"}:
        present -= {"lon", "lat"} - spec.column_names
    unknown = sorted(present - spec.column_names)
    if unknown:
        problems.add(
            f"{path}: unknown column(s) {', '.join(unknown)}; expected only "
            f"{', '.join(c.name for c in spec.columns)}"
        )
    missing = sorted(c.name for c in spec.columns if c.required and c.name not in present)
    if missing:
        problems.add(f"{path}: missing required column(s) {', '.join(missing)}")
        return []
    parsed_rows = []
    seen: dict[str, Any] = {}
    for row in rows:
        keys = spec.key_columns or (spec.id_column,)
        record_id = "/".join(str(row.get(k, "")).strip() for k in keys) or f"line {row['__line__']}"
        parsed: dict[str, Any] = {"__line__": row["__line__"]}
        ok = True
        for column in spec.columns:
            raw = row.get(column.name)
            try:
                parsed[column.name] = column.parse(raw)
            except ValueError:
                value = "" if raw is None else raw
                problems.record(path, record_id, column.name, value, column.expectation())
                ok = False
        if not ok:
            continue
        identifier = "/".join(str(parsed[k]) for k in keys)
        if identifier in seen:
            problems.add(
                f"{path}: record {identifier!r} (line {row['__line__']}): duplicate "
                f"{'/'.join(keys)}; first defined at line {seen[identifier]}; expected unique ids"
            )
            continue
        seen[identifier] = row["__line__"]
        if extra_check is not None:
            before = len(problems.items)
            extra_check(parsed, str(identifier))
            if len(problems.items) > before:
                continue
        parsed_rows.append(parsed)
    return parsed_rows


def _same_crs(found: str, declared: str) -> bool:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        found_crs, declared_crs = CRS.from_user_input(found), CRS.from_user_input(declared)
    except CRSError:
        return False
    return bool(found_crs.equals(declared_crs, ignore_axis_order=True))
