"""``sanitation compare``: plan several scenarios (a base and its what-ifs) and compare KPIs.

Each scenario's full plan goes in ``out/<scenario file stem>/``; the comparison (``compare.md``,
``compare.csv`` with deltas against the first scenario, ``compare.png``) in ``out/``. The whole
folder is written aside and renamed into place when complete.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sanitation.errors import ScenarioError
from sanitation.io.compare import write_compare_outputs
from sanitation.io.plan_folder import COMPARE_MARKERS, plan_to_folder, replace_folder
from sanitation.plan.run import Progress
from sanitation.scenario import load_scenario


def compare_scenarios(
    paths: Sequence[Path],
    out: Path,
    *,
    day: dt.date | None,
    engine: str,
    time_limit_s: float,
    seed: int = 1,
    progress: Progress | None = None,
) -> str:
    """Plan every scenario for ``day`` (default: each one's own date); return the markdown table.

    Raises
    ------
    ScenarioError
        When two scenarios share a file stem, or any scenario is bad (all are loaded first).
    """
    names = [Path(p).stem for p in paths]
    if len(set(names)) != len(names):
        msg = f"scenario file names must differ (their stems name the sub-folders): {names}"
        raise ScenarioError(msg)
    scenarios = [load_scenario(p) for p in paths]  # every input checked before any solve
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        documents = []
        for index, (name, scenario) in enumerate(zip(names, scenarios, strict=True)):
            if progress:
                progress("scenarios", name, index, len(scenarios))
            document, _ = plan_to_folder(
                scenario,
                [day or scenario.plan_date],
                staging / name,
                engine=engine,
                time_limit_s=time_limit_s,
                seed=seed,
                progress=progress,
            )
            documents.append(document)
        if progress:
            progress("scenarios", "compared", len(scenarios), len(scenarios))
        write_compare_outputs(names, documents, staging)
        table = (staging / "compare.md").read_text(encoding="utf-8")
        replace_folder(staging, out, markers=COMPARE_MARKERS)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return table
