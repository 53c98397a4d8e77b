"""Plan a scenario and write its output folder atomically (staging folder, then rename).

It sits above the plan (`sanitation.plan.run.plan_days`) and the writers
(`sanitation.io.plan_files`); the plan itself imports nothing from ``io``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sanitation.io.plan_files import write_plan_outputs
from sanitation.plan.context import PlanningContext
from sanitation.plan.model import PlanDocument
from sanitation.plan.run import Progress, plan_days
from sanitation.scenario.model import Scenario


def replace_folder(staging: Path, out: Path) -> None:
    """Move ``staging`` to ``out``, replacing an older ``out`` only once the new one is whole."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        if old.exists():
            shutil.rmtree(old)
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old)


def plan_to_folder(
    scenario: Scenario,
    dates: Sequence[dt.date],
    out: Path,
    *,
    engine: str,
    time_limit_s: float,
    seed: int = 1,
    progress: Progress | None = None,
    workers: int | None = None,
) -> tuple[PlanDocument, list[Path]]:
    """Plan ``dates`` and write every output into ``out``; nothing is left half-written."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    context = PlanningContext.build(scenario)
    document = plan_days(
        scenario,
        dates,
        engine=engine,
        time_limit_s=time_limit_s,
        seed=seed,
        progress=progress,
        workers=workers,
        context=context,
    )
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        if progress:
            progress("outputs", "writing files", 0, 1)
        written = write_plan_outputs(document, context, staging)
        replace_folder(staging, out)
        if progress:
            progress("outputs", str(out), 1, 1)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return document, [out / p.relative_to(staging) for p in written]
