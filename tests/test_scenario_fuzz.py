"""A bounded fuzz harness (issue 12): mutations of the tiny scenario through ``sanitation
validate`` (in-process) must exit 0, 2 or 3, never with a traceback; exit 2 names a file.

Mutations: table cells (wrong types, out-of-range values, NUL bytes, unknown references), YAML
values (types, ranges, paths), encodings, swapped file kinds and raw YAML text edits. The
example count is fixed and the search derandomized, so ``make test`` runs the same cases.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli_helpers import run_cli

TINY = Path(__file__).parent / "data" / "scenario" / "tiny"
TABLES = ("townships", "villages", "points", "stations", "disposal_sites", "depots",
          "vehicle_types", "fleet")  # fmt: skip

FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HOSTILE_TEXT = st.sampled_from(
    ["", " ", "abc", "-1", "0", "1e300", "-1e300", "NaN", "inf", "1" * 400, "24:61", "05:00",
     "18:30", "99:99", "true", "990000009999", "P1", "S1", "\x00", "a\x00b", "１２", "None",
     "[1, 2]", "{a: 1}", "*x", "&x y", "'", '"', "\u202e", "2026-02-30", "9999-12-31"]
)  # fmt: skip
CELL = st.one_of(HOSTILE_TEXT, st.text(max_size=12), st.integers(-(10**12), 10**12).map(str))
YAML_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    HOSTILE_TEXT,
    st.text(max_size=10),
    st.lists(st.integers(-5, 5) | HOSTILE_TEXT, max_size=3),
    st.dictionaries(st.sampled_from(["a", "id", "S1", "P1"]), HOSTILE_TEXT, max_size=2),
)
YAML_KEYS = [
    ("name",), ("date",), ("crs",), ("base",), ("boundary",), ("default_kg_per_person_day",),
    ("data", "points"), ("data", "fleet"), ("data",), ("roads",), ("roads", "source"),
    ("roads", "path"), ("roads", "max_snap_distance_m"), ("roads", "closed_road_ids"),
    ("roads", "closed_areas"), ("access_classes",), ("access_classes", 0, "gross_weight_t"),
    ("seasonal_multipliers", 0, "multiplier"), ("seasonal_multipliers", 0, "start"),
    ("seasonal_multipliers", 0, "townships"), ("policy", "assignment"), ("costs",),
    ("overrides",), ("overrides", "stations"), ("overrides", "stations", "S1"),
    ("overrides", "stations", "S1", "close"), ("overrides", "points", "P1", "lon"),
    ("overrides", "fleet", "F1", "count"), ("notes",), ("surprise",),
]  # fmt: skip


def _copy_tiny() -> tuple[tempfile.TemporaryDirectory, Path]:
    holder = tempfile.TemporaryDirectory(prefix="fuzz-")
    folder = Path(holder.name) / "tiny"
    shutil.copytree(TINY, folder)
    return holder, folder


def _validate(folder: Path, monkeypatch) -> None:
    result = run_cli(["validate", str(folder / "scenario.yaml")], monkeypatch)
    assert not result.traceback, result.traceback
    assert "Traceback" not in result.stderr, result.stderr
    assert result.code in (0, 2, 3), result.message
    if result.code == 2:
        assert str(folder.parent) in result.stderr, f"no file named in {result.stderr!r}"


def _set(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = document
    for key in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return
    last = path[-1]
    in_list = isinstance(node, list) and isinstance(last, int) and last < len(node)
    if isinstance(node, dict) or in_list:
        node[last] = value


@FUZZ
@given(
    table=st.sampled_from(TABLES),
    row=st.integers(0, 6),
    column=st.integers(0, 20),
    value=CELL,
)
def test_fuzz_table_cells(table, row, column, value, monkeypatch):
    holder, folder = _copy_tiny()
    with holder:
        path = folder / f"{table}.csv"
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        r = rows[row % len(rows)]  # row 0 is the header: a renamed or broken column
        r[column % len(r)] = value
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        path.write_text(buffer.getvalue(), encoding="utf-8")
        _validate(folder, monkeypatch)


@FUZZ
@given(key=st.sampled_from(YAML_KEYS), value=YAML_VALUE)
def test_fuzz_yaml_values(key, value, monkeypatch):
    holder, folder = _copy_tiny()
    with holder:
        path = folder / "scenario.yaml"
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        _set(document, key, value)
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        _validate(folder, monkeypatch)


KINDS = ["scenario.yaml", "roads.geojson", "points.csv", "fleet.csv", "blob.bin", "empty.csv",
         "blob.xlsx", "blob.gpkg", "blob.geojson", "missing.csv", "."]  # fmt: skip
SLOTS = [("data", t) for t in TABLES] + [("roads", "path"), ("roads", "closed_areas"),
                                         ("boundary",), ("base",)]  # fmt: skip


@FUZZ
@given(slot=st.sampled_from(SLOTS), kind=st.sampled_from(KINDS), blob=st.binary(max_size=64))
def test_fuzz_swapped_file_kinds(slot, kind, blob, monkeypatch):
    holder, folder = _copy_tiny()
    with holder:
        for name in ("blob.bin", "blob.xlsx", "blob.gpkg", "blob.geojson"):
            (folder / name).write_bytes(blob)
        (folder / "empty.csv").write_bytes(b"")
        path = folder / "scenario.yaml"
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if slot == ("base",) and kind == "scenario.yaml":
            kind = "missing.csv"  # a scenario as its own base is the circular-base case
        _set(document, slot, kind)
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        _validate(folder, monkeypatch)


ENCODINGS = ["gbk", "utf-16", "latin-1", "utf-8-sig", "cp1252"]


@FUZZ
@given(
    name=st.sampled_from([*(f"{t}.csv" for t in TABLES), "scenario.yaml", "roads.geojson"]),
    encoding=st.sampled_from(ENCODINGS),
    cut=st.integers(0, 2000),
)
def test_fuzz_encodings_and_truncation(name, encoding, cut, monkeypatch):
    holder, folder = _copy_tiny()
    with holder:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        data = text.encode(encoding, errors="replace")
        if cut % 3 == 0:
            data = data[: cut % max(1, len(data))]
        path.write_bytes(data)
        _validate(folder, monkeypatch)


@FUZZ
@given(
    position=st.integers(0, 2000),
    insert=st.sampled_from(["\n", ":", " - ", "&a", "*a", "{", "[", "\t", "'", "\x00", "%",
                            "!!python/object:os.system 'true'", "<<: *a", "? x", "\ufeff"]),
    delete=st.integers(0, 5),
)  # fmt: skip
def test_fuzz_yaml_text(position, insert, delete, monkeypatch):
    holder, folder = _copy_tiny()
    with holder:
        path = folder / "scenario.yaml"
        text = path.read_text(encoding="utf-8")
        at = position % (len(text) + 1)
        path.write_text(text[:at] + insert + text[at + delete :], encoding="utf-8")
        _validate(folder, monkeypatch)


@pytest.mark.parametrize("name", ["scenario.yaml"])
def test_the_unmutated_tiny_scenario_validates(name, monkeypatch):
    holder, folder = _copy_tiny()
    with holder:
        result = run_cli(["validate", str(folder / name)], monkeypatch)
        assert result.code == 0, result.message
