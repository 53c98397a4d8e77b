"""``sanitation compare``: plan several scenarios (a base and its what-ifs) and compare KPIs.

The first scenario is the base. It is planned first and its station-days (problem and verified
routes) are kept; each what-if's station-day is then solved against the base's of the same day
number and station (`sanitation.plan.reuse`): unchanged ones, and ones that only lose choices
the base did not use, reuse the base's routes exactly; the others search from them. The base's
station-days are solved again with ``noise_seeds - 1`` other seeds, and the spread (max - min)
of their routing KPIs is the noise band: a what-if's delta inside it reads "no significant
change".

Each scenario's full plan goes in ``out/<scenario file stem>/``; the comparison (``compare.md``,
``compare.csv`` with deltas against the first scenario, ``compare.png``) in ``out/``, with each
scenario labelled by its own name. The whole folder is written aside and renamed into place
when complete.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from sanitation.errors import ScenarioError
from sanitation.io.compare import NoiseBand, write_compare_outputs
from sanitation.io.plan_folder import COMPARE_MARKERS, plan_to_folder, replace_folder
from sanitation.plan.reuse import Baseline, Reference
from sanitation.plan.run import Progress, solve_again
from sanitation.routing.solution import RoutingSolution
from sanitation.scenario import load_scenario

#: seeds the base's routing is solved with for the noise band (the plan's seed and the next ones)
NOISE_SEEDS = 3
#: the largest number of noise seeds accepted (each one re-solves every base station-day)
MAX_NOISE_SEEDS = 10


def scenario_labels(names: Sequence[str], stems: Sequence[str]) -> list[str]:
    """Each scenario's own name; a name that two scenarios share gets its file stem added."""
    count: dict[str, int] = defaultdict(int)
    for name in names:
        count[name] += 1
    return [
        name if count[name] == 1 else f"{name} ({stem})"
        for name, stem in zip(names, stems, strict=True)
    ]


def _routing_kpis(solutions: Mapping[tuple[int, str], RoutingSolution]) -> dict:
    """Routing KPIs by (scope, id, metric): per station and for the county."""
    out: dict[tuple[str, str, str], float] = defaultdict(float)
    for (_, station_id), sol in solutions.items():
        served = sum(len(r.stop_ids) for r in sol.routes)
        values = {
            "total_cost_cny": sol.cost_cny,
            "distance_km": sol.distance_m / 1000,
            "driver_hours_h": sum(r.duration_s for r in sol.routes) / 3600,
            "trucks_used": len(sol.routes),
            "points_served": served,
            "points_unserved": len(sol.unserved),
        }
        for metric, value in values.items():
            out[("station", station_id, metric)] += value
            out[("county", "county", metric)] += value
    return out


def noise_band(
    record: Mapping[tuple[int, str], Reference],
    *,
    engine: str,
    seed: int,
    noise_seeds: int,
    progress: Progress | None = None,
    executor: cf.Executor | None = None,
) -> NoiseBand:
    """The spread (max - min) of the base's routing KPIs over ``noise_seeds`` seeds.

    The recorded station-days (solved with ``seed``) are solved again with ``seed + 1``, ...,
    same problems and work budgets, on ``executor`` (default a local pool). Only the collection
    routes vary (transfer trips and gate fees follow the collected tonnage).
    """
    runs = [_routing_kpis({k: r.solution for k, r in record.items()})]
    for extra in range(1, noise_seeds):
        if progress:
            progress("noise", f"base with seed {seed + extra}", extra, noise_seeds)
        again = solve_again(
            record, engine=engine, seed=seed + extra, progress=progress, executor=executor
        )
        runs.append(_routing_kpis(again))
    keys = set().union(*runs)
    spread = {
        key: round(max(r.get(key, 0.0) for r in runs) - min(r.get(key, 0.0) for r in runs), 4)
        for key in keys
    }
    return NoiseBand(seeds=tuple(seed + k for k in range(noise_seeds)), spread=spread)


def compare_scenarios(
    paths: Sequence[Path],
    out: Path,
    *,
    day: dt.date | None,
    engine: str,
    time_limit_s: float,
    seed: int = 1,
    noise_seeds: int = NOISE_SEEDS,
    progress: Progress | None = None,
    executor: cf.Executor | None = None,
) -> str:
    """Plan every scenario for ``day`` (default: each one's own date); return the markdown table.

    Parameters
    ----------
    noise_seeds
        Seeds of the noise band (1..`MAX_NOISE_SEEDS`; 1 = no band).
    executor
        Where every plan's and the noise band's solves run (default: local pools).

    Raises
    ------
    ScenarioError
        When two scenarios share a file stem, or any scenario is bad (all are loaded first).
    """
    stems = [Path(p).stem for p in paths]
    if len(set(stems)) != len(stems):
        msg = f"scenario file names must differ (their stems name the sub-folders): {stems}"
        raise ScenarioError(msg)
    if not 1 <= noise_seeds <= MAX_NOISE_SEEDS:
        msg = f"noise_seeds must be in 1..{MAX_NOISE_SEEDS}, got {noise_seeds}"
        raise ValueError(msg)
    scenarios = [load_scenario(p) for p in paths]  # every input checked before any solve
    labels = scenario_labels([s.name for s in scenarios], stems)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        documents = []
        record = Baseline()
        for index, (stem, scenario) in enumerate(zip(stems, scenarios, strict=True)):
            if progress:
                progress("scenarios", stem, index, len(scenarios))
            document, _ = plan_to_folder(
                scenario,
                [day or scenario.plan_date],
                staging / stem,
                engine=engine,
                time_limit_s=time_limit_s,
                seed=seed,
                progress=progress,
                reference=record if index > 0 else None,
                record=record if index == 0 else None,
                executor=executor,
            )
            documents.append(document)
        band = noise_band(
            record.station_days,
            engine=engine,
            seed=seed,
            noise_seeds=noise_seeds,
            progress=progress,
            executor=executor,
        )
        if progress:
            progress("scenarios", "compared", len(scenarios), len(scenarios))
        write_compare_outputs(labels, documents, staging, noise=band)
        table = (staging / "compare.md").read_text(encoding="utf-8")
        replace_folder(staging, out, markers=COMPARE_MARKERS)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return table
