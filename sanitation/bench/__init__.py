"""``sanitation bench``: run public benchmark instances and write the JSON of the contract.

Each problem has a module here exposing
``run(paths, *, time_limit_s, engine, seed) -> list[dict]`` that returns one result per
instance: ``{"instance", "cost", "bks", "gap_pct", "seconds", "feasible", "optimal"?, "routes"?}``.
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sanitation.errors import ScenarioError

T = TypeVar("T")

PROBLEM_MODULES = {
    "cvrp": "sanitation.bench.cvrp",
    "vrptw": "sanitation.bench.vrptw",
    "waste": "sanitation.bench.waste",
    "cflp": "sanitation.bench.cflp",
    "sscflp": "sanitation.bench.sscflp",
    "lrp": "sanitation.bench.lrp",
    "mcvrp": "sanitation.bench.mcvrp",
}


def expand_paths(paths: list[Path], suffixes: tuple[str, ...]) -> list[Path]:
    """Instance files from files and folders (folders searched recursively for ``suffixes``)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
            )
        else:
            files.append(path)
    return files


def read_instance(path: Path, read: Callable[[], T]) -> T:
    """``read()`` (a reader of ``path``, or a problem built from it), its failures as bad input.

    Raises
    ------
    ScenarioError
        Naming the file and what the reader found wrong (a value, a missing section).
    """
    try:
        return read()
    except (ValueError, IndexError, KeyError, OverflowError, ZeroDivisionError) as error:
        # UnicodeDecodeError is a ValueError: a binary file
        detail = str(error).replace(str(path), "").strip(" :") or type(error).__name__
        msg = f"{path}: not a readable benchmark instance of this problem: {detail[:300]}"
        raise ScenarioError(msg) from None
    except OSError as error:
        msg = f"{path}: cannot be read ({error.strerror})"
        raise ScenarioError(msg) from None


def gap_pct(cost: float, bks: float | None) -> float | None:
    """Gap in percent of ``cost`` above the best-known ``bks`` (None when unknown)."""
    if bks is None or bks == 0:
        return None
    return round(100.0 * (cost - bks) / bks, 4)


FACILITY_PROBLEMS = ("cflp", "sscflp")


def _check_engine(problem: str, engine: str | None) -> None:
    """``--engine`` names an engine of the problem's kind (routing or facility location)."""
    if engine is None:
        return
    if problem == "lrp":
        names: list[str] = ["siting+pyvrp"]  # one method (sanitation.bench.lrp)
    elif problem in FACILITY_PROBLEMS:
        from sanitation.assignment.solve import ENGINES as FACILITY_ENGINES

        names = list(FACILITY_ENGINES)
    else:
        from sanitation.engines import ENGINES

        names = sorted(ENGINES)
    if engine not in names:
        msg = f"--engine: value {engine!r}; expected one of {', '.join(names)} for {problem}"
        raise ScenarioError(msg)


def run_bench(
    problem: str,
    paths: list[Path],
    *,
    time_limit_s: float,
    engine: str | None,
    seed: int = 1,
) -> dict[str, Any]:
    """Run one benchmark problem on the given instance files; return the contract's object."""
    if problem not in PROBLEM_MODULES:
        msg = (
            f"argument 'problem': value {problem!r}; expected one of "
            f"{', '.join(sorted(PROBLEM_MODULES))}"
        )
        raise ScenarioError(msg)
    _check_engine(problem, engine)
    module = importlib.import_module(PROBLEM_MODULES[problem])
    results = module.run(paths, time_limit_s=time_limit_s, engine=engine, seed=seed)
    return {
        "problem": problem,
        "engine": engine or getattr(module, "DEFAULT_ENGINE", "default"),
        "time_limit_s": time_limit_s,
        "results": results,
    }


def check_json_out(out: Path) -> Path:
    """Check that the report may be written to ``out`` (a file path); return it resolved.

    An existing file there is replaced (atomically) by `write_json`; a folder is refused.

    Raises
    ------
    ScenarioError
        When ``out`` is a folder, or its parent cannot be created or written.
    """
    from sanitation.io.plan_folder import make_parent

    if "\0" in str(out):
        msg = f"--json: path {str(out)!r} contains a NUL byte; expected a file path"
        raise ScenarioError(msg)
    out = out.resolve()
    if out.is_dir():
        msg = f"--json: {out} is a folder; expected the path of the JSON report file"
        raise ScenarioError(msg)
    make_parent(out, "--json")
    return out


def write_json(report: dict[str, Any], out: Path) -> None:
    """Write the report atomically (a temporary file of our own, then rename)."""
    out = check_json_out(out)
    handle, name = tempfile.mkstemp(prefix=f".{out.name}-", suffix=".tmp", dir=out.parent)
    tmp = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(report, ensure_ascii=False, indent=1))
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
