"""``sanitation bench``: run public benchmark instances and write the JSON of the contract.

Each problem has a module here exposing
``run(paths, *, time_limit_s, engine, seed) -> list[dict]`` that returns one result per
instance: ``{"instance", "cost", "bks", "gap_pct", "seconds", "feasible", "optimal"?, "routes"?}``.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

PROBLEM_MODULES = {
    "cvrp": "sanitation.bench.cvrp",
    "vrptw": "sanitation.bench.vrptw",
    "waste": "sanitation.bench.waste",
    "cflp": "sanitation.bench.cflp",
    "sscflp": "sanitation.bench.sscflp",
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


def gap_pct(cost: float, bks: float | None) -> float | None:
    """Gap in percent of ``cost`` above the best-known ``bks`` (None when unknown)."""
    if bks is None or bks == 0:
        return None
    return round(100.0 * (cost - bks) / bks, 4)


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
        msg = f"unknown benchmark problem {problem!r}; expected one of {sorted(PROBLEM_MODULES)}"
        raise ValueError(msg)
    module = importlib.import_module(PROBLEM_MODULES[problem])
    results = module.run(paths, time_limit_s=time_limit_s, engine=engine, seed=seed)
    return {
        "problem": problem,
        "engine": engine or getattr(module, "DEFAULT_ENGINE", "default"),
        "time_limit_s": time_limit_s,
        "results": results,
    }


def write_json(report: dict[str, Any], out: Path) -> None:
    """Write the report atomically (temporary file, then rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(out)
