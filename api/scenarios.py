"""Stored scenarios: uploads (zip or JSON), what-ifs derived with overrides, cached loading.

A stored scenario is a folder ``scenarios/<uuid>/`` in the data directory holding its YAML and
data files. Every path a stored YAML names must stay inside the stored scenarios (no ``..`` out
of them, no absolute paths elsewhere); what-ifs point at their parent with ``base:``.
"""

from __future__ import annotations

import base64
import binascii
import io
import shutil
import uuid
import zipfile
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import BadRequestError, NotFoundError
from api.keys import Caller
from api.models import ScenarioRow
from api.schemas import MAX_ID
from api.settings import Settings
from geo.errors import GeoInputError
from sanitation.errors import ScenarioError
from sanitation.scenario import Scenario, load_scenario

MAX_FILES = 2000
YAML_SUFFIXES = (".yaml", ".yml")


def scenario_yaml(settings: Settings, row: ScenarioRow) -> Path:
    """Absolute path of a stored scenario's YAML."""
    return (settings.data_dir / row.folder / row.yaml_file).resolve()


@lru_cache(maxsize=16)
def load_cached(path: str) -> Scenario:
    """Load a stored scenario once per process (stored scenarios never change)."""
    return load_scenario(Path(path))


def load_row(settings: Settings, row: ScenarioRow) -> Scenario:
    """The scenario of a stored row."""
    return load_cached(str(scenario_yaml(settings, row)))


def get_row(session: Session, scenario_id: int, caller: Caller | None = None) -> ScenarioRow:
    """A stored scenario by id (a coordinator only sees scenarios of its townships).

    Raises
    ------
    NotFoundError
        Unknown id or out of the caller's scope.
    """
    row = session.get(ScenarioRow, scenario_id) if 0 < scenario_id <= MAX_ID else None
    if row is None or (caller is not None and not _visible(row, caller)):
        raise NotFoundError("scenario_id", scenario_id, "scenario")
    return row


def _visible(row: ScenarioRow, caller: Caller) -> bool:
    return caller.role != "coordinator" or bool(caller.townships & set(row.townships))


def list_rows(session: Session, caller: Caller) -> list[ScenarioRow]:
    """Stored scenarios visible to the caller, oldest first."""
    rows = session.scalars(select(ScenarioRow).order_by(ScenarioRow.id))
    return [r for r in rows if _visible(r, caller)]


# -- uploads -----------------------------------------------------------------------------------
def _safe_relative(name: str, field: str) -> PurePosixPath:
    if any(ord(c) < 32 or 0xD800 <= ord(c) < 0xE000 for c in name) or len(name) > 255:
        raise BadRequestError(field, f"file name {name!r} has control characters or is too long")
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or ":" in path.parts[0]:
        raise BadRequestError(
            field, f"file name {name!r} must be a relative path inside the folder"
        )
    return path


def _new_folder(settings: Settings) -> tuple[Path, str]:
    relative = f"scenarios/{uuid.uuid4().hex}"
    folder = settings.data_dir / relative
    folder.mkdir(parents=True)
    return folder, relative


def store_zip(
    settings: Settings,
    session: Session,
    data: bytes,
    *,
    yaml_name: str | None,
    name: str | None,
    caller: Caller,
) -> ScenarioRow:
    """Unpack a zip of a scenario YAML and its files, validate and store it.

    Raises
    ------
    BadRequestError
        Not a zip, unsafe member names, too large, no or several YAML files.
    ScenarioError
        The scenario does not validate (every problem listed).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BadRequestError("file", "not a zip archive") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    if not members:
        raise BadRequestError("file", "the zip archive is empty")
    if len(members) > MAX_FILES:
        raise BadRequestError("file", f"{len(members)} files; at most {MAX_FILES}")
    total = sum(m.file_size for m in members)
    if total > 10 * settings.max_upload_bytes:
        raise BadRequestError("file", f"unpacks to {total} bytes; at most 10 × the upload limit")
    paths = {m.filename: _safe_relative(m.filename, "file") for m in members}
    # A zip of one folder: drop the common top folder.
    tops = {p.parts[0] for p in paths.values()}
    strip = len(tops) == 1 and all(len(p.parts) > 1 for p in paths.values())
    if strip:
        paths = {k: PurePosixPath(*p.parts[1:]) for k, p in paths.items()}
    yaml_rel = _pick_yaml([str(p) for p in paths.values()], yaml_name)
    folder, relative = _new_folder(settings)
    try:
        for member in members:
            target = folder / paths[member.filename]
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        return _register(
            settings, session, folder, relative, yaml_rel, "upload", None, name, caller
        )
    except (BadRequestError, ScenarioError, GeoInputError):
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _pick_yaml(names: list[str], yaml_name: str | None) -> str:
    yamls = sorted(n for n in names if n.lower().endswith(YAML_SUFFIXES))
    if yaml_name is not None:
        wanted = str(_safe_relative(yaml_name, "yaml_name"))
        if wanted not in names:
            raise BadRequestError(
                "yaml_name", f"{yaml_name!r} is not in the archive; it holds {', '.join(yamls)}"
            )
        return wanted
    if len(yamls) == 1:
        return yamls[0]
    if not yamls:
        raise BadRequestError("file", "the archive holds no scenario YAML (.yaml/.yml)")
    raise BadRequestError(
        "yaml_name", f"the archive holds {len(yamls)} YAML files ({', '.join(yamls)}); name one"
    )


def store_json(
    settings: Settings,
    session: Session,
    *,
    yaml_text: str,
    files: dict[str, str],
    files_base64: dict[str, str],
    name: str | None,
    caller: Caller,
) -> ScenarioRow:
    """Store a scenario given as YAML text plus data files (text, or base64 for binary files).

    Raises
    ------
    BadRequestError
        Unsafe file names or bad base64.
    ScenarioError
        The scenario does not validate.
    """
    contents: dict[PurePosixPath, bytes] = {}
    for rel, text in files.items():
        contents[_safe_relative(rel, f"files.{rel}")] = _utf8(text, f"files.{rel}")
    yaml_bytes = _utf8(yaml_text, "yaml")
    for rel, text in files_base64.items():
        try:
            contents[_safe_relative(rel, f"files_base64.{rel}")] = base64.b64decode(
                text, validate=True
            )
        except (binascii.Error, ValueError):
            raise BadRequestError(f"files_base64.{rel}", "not valid base64") from None
    if len(contents) > MAX_FILES:
        raise BadRequestError("files", f"{len(contents)} files; at most {MAX_FILES}")
    folder, relative = _new_folder(settings)
    try:
        for path, data in contents.items():
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (folder / "scenario.yaml").write_bytes(yaml_bytes)
        return _register(
            settings, session, folder, relative, "scenario.yaml", "upload", None, name, caller
        )
    except (BadRequestError, ScenarioError, GeoInputError):
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _utf8(text: str, field: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequestError(field, "not valid UTF-8 text") from None


def derive_whatif(
    settings: Settings,
    session: Session,
    parent: ScenarioRow,
    *,
    name: str,
    description: str,
    changes: dict[str, Any],
    closed_road_ids: list[str],
    caller: Caller | None,
    kind: str = "whatif",
) -> ScenarioRow:
    """Store a what-if: ``base:`` the parent plus ``changes``; closures add to the parent's.

    Raises
    ------
    ScenarioError
        The what-if does not validate (e.g. an override names an unknown record or field).
    """
    parent_yaml = scenario_yaml(settings, parent)
    folder, relative = _new_folder(settings)
    document = write_overlay(
        folder / "scenario.yaml",
        parent_yaml,
        name=name,
        description=description,
        changes=changes,
        closed_road_ids=[*load_row(settings, parent).roads.closed_road_ids, *closed_road_ids]
        if closed_road_ids
        else [],
    )
    del document
    try:
        return _register(
            settings, session, folder, relative, "scenario.yaml", kind, parent.id, name, caller
        )
    except (BadRequestError, ScenarioError, GeoInputError):
        shutil.rmtree(folder, ignore_errors=True)
        raise


def write_overlay(
    path: Path,
    parent_yaml: Path,
    *,
    name: str,
    description: str,
    changes: dict[str, Any],
    closed_road_ids: list[str],
) -> dict[str, Any]:
    """Write an overlay YAML (``base:`` relative to ``path``) and return its document."""
    base = Path("..") / parent_yaml.parent.name / parent_yaml.name
    if parent_yaml.parent.parent.resolve() != path.parent.parent.resolve():
        base = parent_yaml
    document: dict[str, Any] = {"base": str(base), "name": name}
    if description:
        document["description"] = description
    document.update({k: v for k, v in changes.items() if v not in (None, {}, [])})
    if closed_road_ids:
        roads = dict(document.get("roads") or {})
        roads["closed_road_ids"] = list(dict.fromkeys(closed_road_ids))
        document["roads"] = roads
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return document


def _check_paths(yaml_path: Path, root: Path, depth: int = 0) -> list[str]:
    """Paths a YAML names (data, roads, boundary, base) that leave ``root``."""
    if depth > 8 or not yaml_path.is_file():
        return []
    try:
        document = yaml.safe_load(yaml_path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return []  # load_scenario reports it with line numbers
    if not isinstance(document, dict):
        return []
    folder = yaml_path.parent
    named: list[tuple[str, object]] = []
    if isinstance(document.get("data"), dict):
        named += [(f"data.{k}", v) for k, v in document["data"].items()]
    if isinstance(document.get("roads"), dict):
        named += [(f"roads.{k}", document["roads"].get(k)) for k in ("path", "closed_areas")]
    named += [("boundary", document.get("boundary")), ("base", document.get("base"))]
    bad = []
    for field, value in named:
        if not isinstance(value, str):
            continue
        resolved = (folder / value).resolve()
        if not resolved.is_relative_to(root):
            bad.append(f"{yaml_path.name}: field {field!r}: path {value!r} leaves the scenario")
        elif field == "base":
            bad += _check_paths(resolved, root, depth + 1)
    return bad


def _register(
    settings: Settings,
    session: Session,
    folder: Path,
    relative: str,
    yaml_rel: str,
    kind: str,
    parent_id: int | None,
    name: str | None,
    caller: Caller | None,
) -> ScenarioRow:
    yaml_path = (folder / yaml_rel).resolve()
    root = folder.resolve() if kind == "upload" else (settings.data_dir / "scenarios").resolve()
    bad = _check_paths(yaml_path, root)
    if bad:
        raise BadRequestError("file", bad[0], bad)
    try:
        scenario = load_scenario(yaml_path)
    except ScenarioError as error:
        raise ScenarioError(
            _clean(str(error), settings), [_clean(p, settings) for p in error.problems]
        ) from None
    row = ScenarioRow(
        name=name or scenario.name,
        description=scenario.description,
        kind=kind,
        parent_id=parent_id,
        folder=relative,
        yaml_file=yaml_rel,
        plan_date=scenario.plan_date.isoformat(),
        townships=sorted(t.code for t in scenario.townships),
        summary=summarise(scenario),
        created_by=caller.key_id if caller else None,
    )
    session.add(row)
    session.commit()
    return row


def _clean(text: str, settings: Settings) -> str:
    """A message without the server's own folders."""
    root = str((settings.data_dir / "scenarios").resolve())
    parts = text.split(root + "/")
    return "".join([parts[0]] + [p.split("/", 1)[-1] for p in parts[1:]])


def summarise(scenario: Scenario) -> dict[str, Any]:
    """Counts and names of a scenario (stored with its row)."""
    return {
        "townships": [{"code": t.code, "name": t.name} for t in scenario.townships],
        "n_villages": len(scenario.villages),
        "n_points": len(scenario.points),
        "stations": [
            {"station_id": s.station_id, "name": s.name, "status": s.status}
            for s in scenario.stations
        ],
        "n_vehicles": sum(f.count for f in scenario.fleet),
        "waste_t_per_day": round(scenario.total_waste_t_per_day, 3),
        "closed_road_ids": list(scenario.roads.closed_road_ids),
        "notes": list(scenario.notes),
    }


def get_township(session: Session, code: str, caller: Caller) -> list[ScenarioRow]:
    """Scenarios that hold a township (404 for coordinators out of scope or unknown codes).

    Raises
    ------
    NotFoundError
        No stored scenario has the township, or the caller may not see it.
    """
    if not caller.sees_township(code):
        raise NotFoundError("code", code, "township")
    rows = [r for r in list_rows(session, caller) if code in r.townships]
    if not rows:
        raise NotFoundError("code", code, "township")
    return rows
