"""Stored scenarios: uploads (zip or JSON), what-ifs derived with overrides, cached loading.

A stored scenario is a folder ``scenarios/<uuid>/`` in the data directory holding its YAML and
data files. Every path a stored YAML names must stay inside the stored scenarios (no ``..`` out
of them, no absolute paths elsewhere); what-ifs point at their parent with ``base:``.
"""

from __future__ import annotations

import base64
import binascii
import io
import lzma
import shutil
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import IO, Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import BadRequestError, NotFoundError
from api.keys import Caller
from api.models import ScenarioRow
from api.schemas import MAX_ID
from api.settings import Settings
from geo.errors import GeoInputError
from sanitation.errors import InfeasibleError, ScenarioError
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


def validate(yaml_path: Path, settings: Settings) -> Scenario:
    """Load and check a scenario as ``sanitation validate`` does (`load_scenario`, then
    `PlanningContext.build`: the network, snapping, closures); messages name no server folder.

    Raises
    ------
    ScenarioError, GeoInputError
        Bad input (every problem listed).
    InfeasibleError
        Road closures cut off a station, a depot or every disposal site.
    """
    from sanitation.plan.context import PlanningContext

    try:
        scenario = load_scenario(yaml_path)
        PlanningContext.build(scenario)
    except (ScenarioError, GeoInputError) as error:
        cleaned = [_clean(p, settings) for p in error.problems]
        raise type(error)(_clean(str(error), settings), cleaned) from None
    except InfeasibleError as error:
        causes = [_clean(c, settings) for c in error.causes]
        raise InfeasibleError(_clean(str(error), settings), causes) from None
    return scenario


@lru_cache(maxsize=64)
def _validated(yaml_path: str, data_dir: str) -> None:
    validate(Path(yaml_path), Settings(data_dir=Path(data_dir)))


def validate_for_plan(settings: Settings, yaml_path: Path) -> None:
    """`validate` the YAML a plan job will plan, before the job is queued (a stored scenario
    is checked once per process: stored files never change)."""
    _validated(str(yaml_path.resolve()), str(settings.data_dir))


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
MAX_NAME_BYTES = 255  # one path component, UTF-8 (NAME_MAX of Linux file systems)
ZIP_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
ZIP_ENCRYPTED = 0x1  # general purpose flag bit 0


def _safe_relative(name: str, field: str) -> PurePosixPath:
    if any(ord(c) < 32 or 0xD800 <= ord(c) < 0xE000 for c in name) or len(name) > 1000:
        raise BadRequestError(field, f"file name {name!r} has control characters or is too long")
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or ":" in path.parts[0]:
        raise BadRequestError(
            field, f"file name {name!r} must be a relative path inside the folder"
        )
    for part in path.parts:
        size = len(part.encode("utf-8"))
        if size > MAX_NAME_BYTES:
            raise BadRequestError(
                field,
                f"file name {name!r}: a name of {size} bytes in UTF-8; "
                f"at most {MAX_NAME_BYTES} per folder or file name",
            )
    return path


@contextmanager
def _staging(settings: Settings) -> Iterator[Path]:
    """A fresh folder beside the stored scenarios; removed afterwards unless `_register` moved
    it into place (so a failed upload of any kind leaves nothing behind)."""
    staging = settings.data_dir / "scenarios" / f".staging-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _zip_paths(archive: zipfile.ZipFile, settings: Settings) -> dict[str, PurePosixPath]:
    """Each file entry's relative path; every entry checked before anything is written.

    Raises
    ------
    BadRequestError
        Too many entries, too large expanded, an encrypted entry or an unsupported compression
        method, an unsafe or too long name, a name given twice, a file that is also a folder.
    """
    entries = archive.infolist()
    if len(entries) > MAX_FILES:
        raise BadRequestError("file", f"{len(entries)} entries; at most {MAX_FILES}")
    limit = 10 * settings.max_upload_bytes
    total = sum(e.file_size for e in entries)
    if total > limit:
        raise BadRequestError(
            "file", f"unpacks to {total} bytes; at most {limit} (10 × the upload limit)"
        )
    files: dict[str, PurePosixPath] = {}
    folders: set[PurePosixPath] = set()
    for entry in entries:
        where = f"entry {entry.filename!r}"
        path = _safe_relative(entry.filename, "file")
        if entry.flag_bits & ZIP_ENCRYPTED:
            raise BadRequestError("file", f"{where} is encrypted; upload an unencrypted zip")
        if entry.compress_type not in ZIP_METHODS:
            raise BadRequestError(
                "file",
                f"{where}: compression method {entry.compress_type} is not supported; "
                f"expected one of {', '.join(ZIP_METHODS.values())}",
            )
        folders.update(path.parents)
        if entry.is_dir():
            folders.add(path)
            continue
        if str(path) in {str(p) for p in files.values()}:
            raise BadRequestError("file", f"{where} appears twice in the archive")
        files[entry.filename] = path
    for name, path in files.items():
        if path in folders:
            raise BadRequestError(
                "file", f"entry {name!r} is a file and also a folder of other entries"
            )
    if not files:
        raise BadRequestError("file", "the zip archive is empty")
    return files


ZIP_READ_ERRORS = (zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, NotImplementedError)


def _extract(archive: zipfile.ZipFile, name: str, target: Path, limit: int) -> int:
    """Copy one entry (checked: its CRC, and no more bytes than its header declares)."""
    info = archive.getinfo(name)
    where = f"entry {name!r}"
    written = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        src = archive.open(info)
    except ZIP_READ_ERRORS as error:
        raise BadRequestError("file", f"{where} cannot be read: {error}") from None
    with src, target.open("wb") as dst:
        while chunk := _read(src, where):
            written += len(chunk)
            if written > info.file_size or written > limit:
                msg = f"{where} holds more than the {info.file_size} bytes its header declares"
                raise BadRequestError("file", msg)
            dst.write(chunk)
    if written != info.file_size:
        raise BadRequestError(
            "file", f"{where} holds {written} bytes; its header declares {info.file_size}"
        )
    return written


def _read(src: IO[bytes], where: str) -> bytes:
    try:
        return src.read(1 << 20)
    except ZIP_READ_ERRORS as error:
        raise BadRequestError("file", f"{where} is damaged: {error}") from None
    except OSError as error:  # bz2 reports bad data as OSError
        raise BadRequestError("file", f"{where} is damaged: {error}") from None


def store_zip(
    settings: Settings,
    session: Session,
    data: bytes,
    *,
    yaml_name: str | None,
    name: str | None,
    caller: Caller,
) -> ScenarioRow:
    """Check every entry of a zip, unpack it to a staging folder, validate, move it into place.

    Raises
    ------
    BadRequestError
        Not a zip; an entry that is unsafe, damaged, encrypted, compressed with an unsupported
        method, larger than declared, given twice or both file and folder; too many entries or
        too large unpacked; no or several YAML files. Nothing is left behind.
    ScenarioError, GeoInputError, InfeasibleError
        The scenario does not validate (every problem listed).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError):
        raise BadRequestError("file", "not a zip archive") from None
    paths = _zip_paths(archive, settings)
    # A zip of one folder: drop the common top folder.
    tops = {p.parts[0] for p in paths.values()}
    strip = len(tops) == 1 and all(len(p.parts) > 1 for p in paths.values())
    if strip:
        paths = {k: PurePosixPath(*p.parts[1:]) for k, p in paths.items()}
    yaml_rel = _pick_yaml([str(p) for p in paths.values()], yaml_name)
    left = 10 * settings.max_upload_bytes
    with _staging(settings) as staging:
        for entry, path in paths.items():
            left -= _extract(archive, entry, staging / path, left)
        return _register(settings, session, staging, yaml_rel, "upload", None, name, caller)


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
    with _staging(settings) as staging:
        for path, data in contents.items():
            target = staging / path
            if target.parent.is_file() or target.is_dir():
                raise BadRequestError("files", f"file name {str(path)!r} is a file and a folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (staging / "scenario.yaml").write_bytes(yaml_bytes)
        return _register(settings, session, staging, "scenario.yaml", "upload", None, name, caller)


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
    with _staging(settings) as staging:
        write_overlay(
            staging / "scenario.yaml",
            parent_yaml,
            name=name,
            description=description,
            changes=changes,
            closed_road_ids=[*load_row(settings, parent).roads.closed_road_ids, *closed_road_ids]
            if closed_road_ids
            else [],
        )
        return _register(settings, session, staging, "scenario.yaml", kind, parent.id, name, caller)


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
    except (yaml.YAMLError, UnicodeDecodeError, ValueError, RecursionError):
        return []  # not a mapping of paths; load_scenario reports the problem
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
    staging: Path,
    yaml_rel: str,
    kind: str,
    parent_id: int | None,
    name: str | None,
    caller: Caller | None,
) -> ScenarioRow:
    """Validate a staged scenario folder, move it into place and store its row."""
    yaml_path = (staging / yaml_rel).resolve()
    root = staging.resolve() if kind == "upload" else (settings.data_dir / "scenarios").resolve()
    bad = _check_paths(yaml_path, root)
    if bad:
        raise BadRequestError("file", bad[0], bad)
    scenario = validate(yaml_path, settings)
    relative = f"scenarios/{uuid.uuid4().hex}"
    folder = settings.data_dir / relative
    staging.rename(folder)
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
    try:
        session.add(row)
        session.commit()
    except BaseException:
        session.rollback()
        shutil.rmtree(folder, ignore_errors=True)
        raise
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
