"""``sanitation sweep``: plan every combination of a grid of what-if overrides.

A grid is a YAML mapping of override paths to lists of values (nested mappings or dotted keys;
the paths are those of a what-if overlay, `sanitation.scenario.load`):

- ``overrides.<table>.<id>.<column>``: any record a what-if's ``overrides:`` may edit (e.g.
  ``overrides.fleet.D-ST-XC-compactor_5t.count``, ``overrides.stations.ST-C01.status``),
  each value parsed and range-checked by the table's column declaration;
- ``fleet.<station id>.<vehicle type id>``: trucks of that type at the station (its one fleet
  record of that type), a whole number in the fleet table's range;
- ``open_candidates``: lists of candidate station ids; the listed ones are built (status
  ``existing``), every other candidate of the base is ``closed``;
- ``waste_factor``: waste generation × this factor on every date and in every township (a
  seasonal multiplier, on top of the base's own; range of ``seasonal_multipliers``);
- ``policy.<field>``, ``costs.<field>``: the scenario's own settings.

Every combination (the cartesian product) is written as an overlay ``overlays/<name>.yaml``
(``base:`` the base scenario, relative) that ``sanitation plan`` reruns alone, and planned as
one task on the executor (`sanitation.plan.executor`). Inside its task a combination plans in
that one process (`InProcessExecutor`, no pool of its own): the sweep's parallelism is across
combinations. Each plan is `plan_days` with the same engine, time limit and seed as
``sanitation plan OVERLAY`` uses, so it equals planning its overlay alone (work budgets,
`sanitation.routing.engine.SolveParams`). Results: ``sweep.csv``, ``sweep.md``, ``sweep.png``
and each plan as ``plans/<name>.json`` (`sanitation.io.sweep`); the folder is written aside
and renamed into place when complete, and nothing is written on bad input.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from sanitation.errors import InfeasibleError, ScenarioError, VerificationError
from sanitation.io.plan_folder import check_out_folder, replace_folder
from sanitation.io.sweep import SWEEP_MARKERS, SweepRow, write_sweep_outputs
from sanitation.plan.executor import ExecutorChoice, open_executor
from sanitation.plan.model import PlanDocument
from sanitation.plan.run import Progress, plan_days
from sanitation.scenario import load_scenario
from sanitation.scenario import specs as table_specs
from sanitation.scenario._yaml import load_yaml
from sanitation.scenario.config import (
    EARLIEST_DATE,
    LATEST_DATE,
    CostsConfig,
    PolicyConfig,
    SeasonalConfig,
)
from sanitation.scenario.load import OVERRIDABLE
from sanitation.scenario.model import Scenario, SeasonalMultiplier
from sanitation.scenario.tables import Problems, parse_table, shown

#: the most combinations one sweep plans (each is a whole plan; a larger study is several
#: sweeps or a batch job; assumed)
MAX_COMBINATIONS = 256
#: the most values one grid key may list
MAX_VALUES_PER_KEY = 64
#: the most grid keys (each one a column of the table)
MAX_KEYS = 16

Cell = tuple[str, str, str]
"""An overridden cell: (table, record id, column)."""


@dataclasses.dataclass(frozen=True)
class Setting:
    """One value of one grid key and what it changes in the overlay."""

    key: str
    value: Any
    cells: Mapping[Cell, Any] = dataclasses.field(default_factory=dict)
    sections: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    waste_factor: float | None = None

    @property
    def text(self) -> str:
        """The value as the table shows it."""
        if isinstance(self.value, list):
            return "+".join(str(v) for v in self.value) or "none"
        return str(self.value)


@dataclasses.dataclass(frozen=True)
class Combination:
    """One combination of the grid: its name (``c01``...) and one setting per key."""

    name: str
    settings: tuple[Setting, ...]

    def overlay(self, base_ref: str, base: Scenario) -> dict[str, Any]:
        """The what-if overlay document of this combination over ``base`` (at ``base_ref``)."""
        document: dict[str, Any] = {
            "base": base_ref,
            "name": f"{base.name} · sweep {self.name}: " + self.label(),
        }
        overrides: dict[str, dict[str, dict[str, Any]]] = {}
        for setting in self.settings:
            for (table, record, column), value in setting.cells.items():
                overrides.setdefault(table, {}).setdefault(record, {})[column] = value
            for section, values in setting.sections.items():
                document.setdefault(section, {}).update(values)
        if overrides:
            document["overrides"] = overrides
        factors = [s.waste_factor for s in self.settings if s.waste_factor is not None]
        if factors:
            document["seasonal_multipliers"] = [
                *(_seasonal_entry(m) for m in base.seasonal_multipliers),
                {
                    "name": f"sweep: waste × {factors[0]:g} (every date and township)",
                    "start": EARLIEST_DATE.isoformat(),
                    "end": LATEST_DATE.isoformat(),
                    "multiplier": factors[0],
                    "townships": [],
                },
            ]
        return document

    def label(self) -> str:
        """``key=value, ...``."""
        return ", ".join(f"{s.key}={s.text}" for s in self.settings)


def _seasonal_entry(season: SeasonalMultiplier) -> dict[str, Any]:
    return {
        "name": season.name,
        "start": season.start.isoformat(),
        "end": season.end.isoformat(),
        "multiplier": season.multiplier,
        "townships": list(season.townships),
    }


# --- the grid file ---------------------------------------------------------------------------


def load_grid(path: Path, base: Scenario) -> list[list[Setting]]:
    """The grid's keys, each a list of settings, checked against ``base``.

    Raises
    ------
    ScenarioError
        Listing every problem, each naming the grid file, the key and the value: an unknown
        key, table, column, record, station or vehicle type, an empty list, a value out of its
        range, two keys editing the same cell, more than `MAX_COMBINATIONS` combinations.
    """
    path = Path(path)
    document = _read_grid(path)
    problems: list[str] = []
    axes: list[list[Setting]] = []
    for key, values in _flatten(path, document, (), problems):
        axis = _axis(path, key, values, base, problems)
        if axis:
            axes.append(axis)
    if not axes and not problems:
        problems.append(f"{path}: no grid keys; expected a mapping of override paths to lists")
    if len(axes) > MAX_KEYS:
        problems.append(f"{path}: {len(axes)} keys; expected at most {MAX_KEYS}")
    _check_overlaps(path, axes, problems)
    total = 1
    for axis in axes:
        total *= len(axis)
    if total > MAX_COMBINATIONS:
        problems.append(
            f"{path}: {total:,} combinations; expected at most {MAX_COMBINATIONS} (split the grid)"
        )
    if problems:
        head = problems[0] if len(problems) == 1 else f"{len(problems)} problems in the grid {path}"
        raise ScenarioError(head, problems)
    return axes


def _read_grid(path: Path) -> dict[str, Any]:
    if not path.is_file():
        msg = f"{path}: grid file not found (--grid)"
        raise ScenarioError(msg)
    try:
        document = load_yaml(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        msg = f"{path}: not UTF-8 text; expected the grid YAML saved as UTF-8"
        raise ScenarioError(msg) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        msg = f"{path}: YAML syntax error at {where}: {getattr(error, 'problem', None) or error}"
        raise ScenarioError(msg) from None
    if not isinstance(document, dict):
        found = "nothing" if document is None else type(document).__name__
        msg = f"{path}: expected a mapping of override paths to lists of values, found {found}"
        raise ScenarioError(msg)
    return document


def _flatten(
    path: Path, document: Mapping[Any, Any], prefix: tuple[str, ...], problems: list[str]
) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
    """(key segments, values) of every leaf; a dotted key is split into segments."""
    for raw_key, value in document.items():
        key = (*prefix, *str(raw_key).split("."))
        if isinstance(value, dict):
            yield from _flatten(path, value, key, problems)
        elif not isinstance(value, list):
            problems.append(
                f"{path}: key {'.'.join(key)!r}: value {shown(value)}; expected a list of values"
            )
        elif not value:
            problems.append(f"{path}: key {'.'.join(key)!r}: empty list; expected 1 or more values")
        elif len(value) > MAX_VALUES_PER_KEY:
            problems.append(
                f"{path}: key {'.'.join(key)!r}: {len(value)} values; expected at most "
                f"{MAX_VALUES_PER_KEY}"
            )
        else:
            yield key, value


AxisBuilder = Callable[[Path, tuple[str, ...], list[Any], Scenario, list[str]], list[Setting]]


def _axis(
    path: Path, key: tuple[str, ...], values: list[Any], base: Scenario, problems: list[str]
) -> list[Setting]:
    """The settings of one key (problems appended; [] when the key itself is bad)."""
    builder = AXES.get(key[0])
    if builder is None:
        problems.append(
            f"{path}: key {'.'.join(key)!r}: unknown field; expected one of "
            + ", ".join(AXIS_FORMS)
        )
        return []
    found = len(problems)
    settings = builder(path, key, values, base, problems)
    return settings if len(problems) == found else []


def _bad(path: Path, key: tuple[str, ...] | str, value: Any, expected: str) -> str:
    name = key if isinstance(key, str) else ".".join(key)
    return f"{path}: key {name!r}: value {shown(value)}; expected {expected}"


def _table_rows(base: Scenario, table: str) -> list[dict[str, Any]]:
    """The base's rows of one table as its file declares them (record ids included; the
    scenario keeps no fleet ids)."""
    return parse_table(base.table_paths[table], table_specs.TABLE_SPECS[table], Problems())


def _record_ids(base: Scenario, table: str) -> set[str]:
    column = table_specs.TABLE_SPECS[table].id_column
    return {str(row[column]) for row in _table_rows(base, table)}


def _cell_axis(
    path: Path, key: tuple[str, ...], cell: Cell, values: list[Any], problems: list[str]
) -> list[Setting]:
    """Settings of one table cell, each value parsed by its column (``column.parse``)."""
    column = next(c for c in table_specs.TABLE_SPECS[cell[0]].columns if c.name == cell[2])
    settings = []
    for value in values:
        try:
            column.parse(value)
        except ValueError:
            problems.append(_bad(path, key, value, column.expectation()))
            continue
        settings.append(Setting(".".join(key), value, cells={cell: value}))
    return settings


def _overrides_axis(
    path: Path, key: tuple[str, ...], values: list[Any], base: Scenario, problems: list[str]
) -> list[Setting]:
    """``overrides.<table>.<id>.<column>`` (a record id may hold dots)."""
    name = ".".join(key)
    if len(key) < 4:
        problems.append(f"{path}: key {name!r}: expected overrides.<table>.<id>.<column>")
        return []
    table, record, column = key[1], ".".join(key[2:-1]), key[-1]
    if table not in OVERRIDABLE:
        problems.append(
            f"{path}: key {name!r}: unknown table {table!r}; expected one of "
            + ", ".join(sorted(OVERRIDABLE))
        )
        return []
    spec = table_specs.TABLE_SPECS[table]
    if record not in _record_ids(base, table):
        problems.append(
            f"{path}: key {name!r}: no {table} record with {spec.id_column} {record!r} in the "
            f"base scenario {base.source_path}"
        )
        return []
    if column == spec.id_column or column not in {c.name for c in spec.columns}:
        problems.append(f"{path}: key {name!r}: {column!r} is not an editable column of {table}")
        return []
    return _cell_axis(path, key, (table, record, column), values, problems)


def _fleet_axis(
    path: Path, key: tuple[str, ...], values: list[Any], base: Scenario, problems: list[str]
) -> list[Setting]:
    """``fleet.<station id>.<vehicle type id>``: that station's one fleet record of the type."""
    name = ".".join(key)
    if len(key) < 3:
        problems.append(f"{path}: key {name!r}: expected fleet.<station id>.<vehicle type id>")
        return []
    station, vehicle_type = ".".join(key[1:-1]), key[-1]
    if station not in {s.station_id for s in base.stations}:
        problems.append(f"{path}: key {name!r}: unknown station id {station!r}")
        return []
    if vehicle_type not in {v.type_id for v in base.vehicle_types}:
        problems.append(f"{path}: key {name!r}: unknown vehicle type id {vehicle_type!r}")
        return []
    depots = {d.depot_id for d in base.depots if d.station_id == station}
    entries = [
        str(row["fleet_id"])
        for row in _table_rows(base, "fleet")
        if row["depot_id"] in depots and row["type_id"] == vehicle_type
    ]
    if len(entries) != 1:
        found = "no fleet record" if not entries else f"{len(entries)} fleet records"
        problems.append(
            f"{path}: key {name!r}: {found} of type {vehicle_type!r} at a depot of station "
            f"{station!r}; expected one (name a record with overrides.fleet.<fleet_id>.count)"
        )
        return []
    return _cell_axis(path, key, ("fleet", entries[0], "count"), values, problems)


def _open_candidates_axis(
    path: Path, key: tuple[str, ...], values: list[Any], base: Scenario, problems: list[str]
) -> list[Setting]:
    """``open_candidates``: each value a list of the base's candidate station ids to build."""
    if len(key) != 1:
        problems.append(f"{path}: key {'.'.join(key)!r}: expected open_candidates alone")
        return []
    candidates = [s.station_id for s in base.stations if s.status == "candidate"]
    expected = "a list of candidate station ids, from " + (", ".join(candidates) or "(none)")
    settings = []
    for value in values:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(_bad(path, key, value, expected))
            continue
        unknown = [v for v in value if v not in candidates]
        if unknown or len(set(value)) != len(value):
            problems.append(_bad(path, key, unknown or value, expected + " (each once)"))
            continue
        cells = {
            ("stations", sid, "status"): "existing" if sid in value else "closed"
            for sid in candidates
        }
        settings.append(Setting("open_candidates", sorted(value), cells=cells))
    return settings


def _waste_factor_axis(
    path: Path, key: tuple[str, ...], values: list[Any], base: Scenario, problems: list[str]
) -> list[Setting]:
    """``waste_factor``: a seasonal multiplier on every date and township (its range is the
    one of ``seasonal_multipliers[].multiplier``)."""
    del base
    if len(key) != 1:
        problems.append(f"{path}: key {'.'.join(key)!r}: expected waste_factor alone")
        return []
    field = SeasonalConfig.model_fields["multiplier"]
    settings = []
    for value in values:
        error = _field_error(
            SeasonalConfig,
            {"name": "sweep", "start": EARLIEST_DATE, "end": EARLIEST_DATE, "multiplier": value},
        )
        if error is not None or isinstance(value, bool):
            problems.append(_bad(path, key, value, f"a factor {_range_text(field)}"))
            continue
        settings.append(Setting("waste_factor", value, waste_factor=float(value)))
    return settings


def _section_axis(
    path: Path, key: tuple[str, ...], values: list[Any], base: Scenario, problems: list[str]
) -> list[Setting]:
    """``policy.<field>`` or ``costs.<field>``: one of the scenario's own settings."""
    del base
    model: type[BaseModel] = PolicyConfig if key[0] == "policy" else CostsConfig
    if len(key) != 2 or key[1] not in model.model_fields:
        problems.append(
            f"{path}: key {'.'.join(key)!r}: unknown field; expected {key[0]}.<one of "
            + ", ".join(model.model_fields)
            + ">"
        )
        return []
    settings = []
    for value in values:
        error = _field_error(model, {key[1]: value})
        if error is not None:
            problems.append(_bad(path, key, value, error))
            continue
        settings.append(Setting(".".join(key), value, sections={key[0]: {key[1]: value}}))
    return settings


def _field_error(model: type[BaseModel], values: dict[str, Any]) -> str | None:
    try:
        model.model_validate(values)
    except ValidationError as error:
        return "; ".join(str(item["msg"]) for item in error.errors())
    return None


def _range_text(field: Any) -> str:
    bounds = [
        f"{name} {getattr(m, attr)}"
        for m in field.metadata
        for attr, name in _BOUNDS
        if getattr(m, attr, None) is not None
    ]
    return "(" + ", ".join(bounds) + ")" if bounds else ""


_BOUNDS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))

AXES: dict[str, AxisBuilder] = {
    "overrides": _overrides_axis,
    "fleet": _fleet_axis,
    "open_candidates": _open_candidates_axis,
    "waste_factor": _waste_factor_axis,
    "policy": _section_axis,
    "costs": _section_axis,
}
AXIS_FORMS = (
    "overrides.<table>.<id>.<column>",
    "fleet.<station id>.<vehicle type id>",
    "open_candidates",
    "waste_factor",
    "policy.<field>",
    "costs.<field>",
)


def _check_overlaps(path: Path, axes: Sequence[Sequence[Setting]], problems: list[str]) -> None:
    """No two keys may set the same cell, setting or waste factor."""
    owner: dict[object, str] = {}
    for axis in axes:
        touched: set[object] = set()
        for setting in axis:
            touched |= set(setting.cells)
            touched |= {(s, f) for s, fields in setting.sections.items() for f in fields}
            if setting.waste_factor is not None:
                touched.add("waste_factor")
        for item in sorted(touched, key=str):
            if item in owner and owner[item] != axis[0].key:
                problems.append(
                    f"{path}: keys {owner[item]!r} and {axis[0].key!r} both set {item}; "
                    "expected each cell set by one key"
                )
            owner.setdefault(item, axis[0].key)


def combinations(axes: Sequence[Sequence[Setting]]) -> list[Combination]:
    """Every combination of the grid (the cartesian product, first key slowest), named
    ``c01``, ``c02``, ... (zero-padded to the count's width)."""
    product = list(itertools.product(*axes))
    width = max(2, len(str(len(product))))
    return [
        Combination(f"c{number:0{width}d}", tuple(settings))
        for number, settings in enumerate(product, start=1)
    ]


# --- planning one combination (a task on the executor) ---------------------------------------


class InProcessExecutor(cf.Executor):
    """Runs each call when it is submitted, in this process: a plan inside a sweep task starts
    no pool of its own (with the portfolio engine its engines run one after the other)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        """Run ``fn(*args, **kwargs)`` now; its result or exception is in the future."""
        future: cf.Future[Any] = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # an executor hands every error to its future
            future.set_exception(error)
        return future


Outcome = Literal["planned", "infeasible", "failed verification"]


@dataclasses.dataclass(frozen=True)
class CombinationJob:
    """What a worker needs to plan one combination (the scenario already loaded and checked;
    a Dask worker must see the scenario's data files at the same paths)."""

    name: str
    scenario: Scenario
    engine: str
    time_limit_s: float
    seed: int


@dataclasses.dataclass(frozen=True)
class CombinationResult:
    """A combination's plan, or why there is none."""

    name: str
    outcome: Outcome
    document: PlanDocument | None
    reason: str = ""
    seconds: float = 0.0


def plan_combination(job: CombinationJob) -> CombinationResult:
    """Plan one combination in this process (the task the sweep submits).

    Infeasible and verifier-rejected plans come back as results saying so; bad input raises.
    """
    started = time.perf_counter()
    scenario = job.scenario
    try:
        document = plan_days(
            scenario,
            [scenario.plan_date],
            engine=job.engine,
            time_limit_s=job.time_limit_s,
            seed=job.seed,
            executor=InProcessExecutor(),
            workers=1,
        )
    except InfeasibleError as error:
        return CombinationResult(job.name, "infeasible", None, str(error))
    except VerificationError as error:
        error.add_context(f"sweep combination {job.name}")
        return CombinationResult(job.name, "failed verification", None, error.summary()[0])
    return CombinationResult(job.name, "planned", document, "", time.perf_counter() - started)


# --- the sweep ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SweepOutcome:
    """The rows written and the output folder."""

    rows: list[SweepRow]
    out: Path
    seconds: float


def _base_ref(base_path: Path, overlays: Path) -> str:
    """The base's path as an overlay in ``overlays`` names it (relative where possible)."""
    try:
        return os.path.relpath(base_path.resolve(), overlays)
    except ValueError:  # another drive (Windows)
        return str(base_path.resolve())


def _write_overlays(
    combos: Sequence[Combination],
    base_path: Path,
    base: Scenario,
    grid_path: Path,
    staging: Path,
    out: Path,
    rerun: str,
) -> dict[str, Scenario]:
    """Write each combination's overlay into ``staging/overlays`` and load it back (every one
    checked before any solve), as it will be named in ``out``; ``rerun`` gives the options of
    ``sanitation plan`` that plan it alone as the sweep does."""
    folder = staging / "overlays"
    folder.mkdir()
    base_ref = _base_ref(base_path, out / "overlays")
    loaded: dict[str, Scenario] = {}
    for combo in combos:
        path = folder / f"{combo.name}.yaml"
        header = (
            f"# sanitation sweep: combination {combo.name} of {len(combos)} of the grid "
            f"{grid_path.name} over {base_path.name}\n# {combo.label()}\n"
            f"# rerun alone: sanitation plan {combo.name}.yaml {rerun} --out DIR\n"
        )
        body = yaml.safe_dump(combo.overlay(base_ref, base), allow_unicode=True, sort_keys=False)
        path.write_text(header + body, encoding="utf-8")
        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            problems = [
                f"grid {grid_path}, combination {combo.name} ({combo.label()}): {p}"
                for p in error.problems
            ]
            raise ScenarioError(problems[0], problems) from None
        loaded[combo.name] = scenario.replace(source_path=out / "overlays" / path.name)
    return loaded


def run_sweep(
    base_path: Path,
    grid_path: Path,
    out: Path,
    *,
    choice: ExecutorChoice | None,
    engine: str,
    time_limit_s: float,
    seed: int = 1,
    workers: int | None = None,
    progress: Progress | None = None,
) -> SweepOutcome:
    """Plan every combination of the grid over the base and write the sweep folder ``out``.

    Parameters
    ----------
    choice
        Where the combinations are planned: a local process pool of ``workers`` processes
        (default every core) or a Dask scheduler's workers; None plans them one after the other
        in this process (the serial reference).
    time_limit_s
        Each combination's routing budget (as ``sanitation plan --time-limit``).

    Raises
    ------
    ScenarioError
        Bad base scenario or grid (naming the file, key and value), or an unreachable scheduler
        (naming its address): before any solve starts, with nothing written.
    """
    started = time.perf_counter()
    base_path, grid_path = Path(base_path), Path(grid_path)
    base = load_scenario(base_path)
    combos = combinations(load_grid(grid_path, base))
    out = check_out_folder(out, markers=SWEEP_MARKERS)
    with _executor(choice, workers, len(combos)) as executor:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        try:
            rerun = f"--time-limit {time_limit_s:g} --engine {engine} --seed {seed}"
            scenarios = _write_overlays(combos, base_path, base, grid_path, staging, out, rerun)
            jobs = [
                CombinationJob(c.name, scenarios[c.name], engine, time_limit_s, seed)
                for c in combos
            ]
            results = _run_jobs(jobs, executor, progress)
            rows = write_sweep_outputs(
                [
                    SweepRow.of(
                        c.name,
                        [(s.key, s.text) for s in c.settings],
                        f"overlays/{c.name}.yaml",
                        results[c.name].outcome,
                        results[c.name].document,
                        results[c.name].reason,
                    )
                    for c in combos
                ],
                staging,
                grid=grid_path,
                base=base_path,
            )
            replace_folder(staging, out, markers=SWEEP_MARKERS)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    return SweepOutcome(rows, out, time.perf_counter() - started)


def _executor(
    choice: ExecutorChoice | None, workers: int | None, jobs: int
) -> AbstractContextManager[cf.Executor | None]:
    """The combinations' executor (None: the serial reference, in this process)."""
    if choice is None:
        return nullcontext(None)
    size = max(1, min(jobs, workers or os.cpu_count() or 1))
    return open_executor(choice, portfolio=False, workers=size)


def _run_jobs(
    jobs: Sequence[CombinationJob], executor: cf.Executor | None, progress: Progress | None
) -> dict[str, CombinationResult]:
    """Plan every job (on ``executor``, or here one after the other); results by name."""
    report = progress or (lambda *_: None)
    report("combinations", f"{len(jobs)} to plan", 0, len(jobs))
    if executor is None:
        outcomes: Iterator[CombinationResult] = (plan_combination(job) for job in jobs)
    else:
        futures = [executor.submit(plan_combination, job) for job in jobs]
        outcomes = (future.result() for future in cf.as_completed(futures))
    results: dict[str, CombinationResult] = {}
    for done, result in enumerate(outcomes, start=1):
        results[result.name] = result
        report("combinations", _progress_text(result), done, len(jobs))
    return results


def _progress_text(result: CombinationResult) -> str:
    if result.document is None:
        return f"{result.name}: {result.outcome}"
    county = next(k for k in result.document.kpis if k.scope == "county")
    return (
        f"{result.name}: {county.total_cost_cny:,.0f} CNY, {county.points_unserved} unserved "
        f"({result.seconds:.0f} s)"
    )


__all__ = [
    "MAX_COMBINATIONS",
    "Combination",
    "CombinationJob",
    "CombinationResult",
    "InProcessExecutor",
    "Setting",
    "SweepOutcome",
    "combinations",
    "load_grid",
    "plan_combination",
    "run_sweep",
]
