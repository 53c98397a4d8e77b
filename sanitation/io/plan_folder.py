"""Plan a scenario and write its output folder atomically (staging folder, then rename).

It sits above the plan (`sanitation.plan.run.plan_days`) and the writers
(`sanitation.io.plan_files`); the plan itself imports nothing from ``io``.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sanitation.errors import ScenarioError, VerificationError
from sanitation.io.plan_files import write_plan_outputs
from sanitation.plan.context import PlanningContext
from sanitation.plan.model import PlanDocument
from sanitation.plan.reuse import Baseline
from sanitation.plan.run import Progress, plan_days
from sanitation.scenario.model import Scenario

# The file by which an existing folder is recognised as an earlier output of each command (so
# that it may be replaced): only that command's own output, never a folder of the user's
# (a scenario folder holding scenario.yaml is not a plan folder).
PLAN_MARKERS = ("plan.json",)
COMPARE_MARKERS = ("compare.md",)
DEMO_MARKERS = ("demo.json", "compare.md")
GENERATE_MARKERS = ("scenario.yaml",)


def check_out_folder(out: Path, *, markers: Sequence[str], option: str = "--out") -> Path:
    """Check that ``out`` may become an output folder; return it resolved.

    ``out`` may be missing (its parent is created), empty, or an earlier output of the same
    command (it holds one of ``markers``, e.g. `PLAN_MARKERS`); anything else is refused and
    left untouched.

    Raises
    ------
    ScenarioError
        When ``out`` is a file, a folder of other files, or its parent cannot be created or
        written.
    """
    if "\0" in str(out):
        msg = f"{option}: path {str(out)!r} contains a NUL byte; expected a folder path"
        raise ScenarioError(msg)
    out = out.resolve()
    if out.exists() and not out.is_dir():
        msg = (
            f"{option}: {out} exists and is not a folder; expected a new or empty folder, or an "
            "earlier output folder (the file is left untouched)"
        )
        raise ScenarioError(msg)
    if out.is_dir() and not _is_output_folder(out, markers):
        msg = (
            f"{option}: {out} is a folder of other files (none of {', '.join(markers)}); "
            "expected a new or empty folder, or an earlier output folder (left untouched)"
        )
        raise ScenarioError(msg)
    make_parent(out, option)
    return out


def make_parent(path: Path, option: str) -> None:
    """Create the parent folder of ``path`` if needed; refuse one that cannot be written.

    Raises
    ------
    ScenarioError
        Naming the parent (or the file in its way) and ``option``.
    """
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        msg = f"{option}: {blocker} is a file, not a folder; expected {path} under a folder"
        raise ScenarioError(msg)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        msg = f"{option}: cannot create the parent folder {path.parent} ({error.strerror})"
        raise ScenarioError(msg) from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        msg = f"{option}: the parent folder {path.parent} is not writable"
        raise ScenarioError(msg)


def _is_output_folder(folder: Path, markers: Sequence[str]) -> bool:
    try:
        names = {p.name for p in folder.iterdir()}
    except OSError:
        return False
    return not names or any(marker in names for marker in markers)


def replace_folder(staging: Path, out: Path, *, markers: Sequence[str]) -> None:
    """Move ``staging`` to ``out``, replacing an older ``out`` only once the new one is whole.

    ``out`` is checked first (`check_out_folder`): a file or a folder the tool did not write is
    never renamed, moved or removed.
    """
    out = check_out_folder(out, markers=markers)
    old = None
    if out.exists():
        # a fresh empty name of our own (rename onto an empty folder), never a fixed name
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
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
    reference: Baseline | None = None,
    record: Baseline | None = None,
    executor: cf.Executor | None = None,
) -> tuple[PlanDocument, list[Path]]:
    """Plan ``dates`` and write every output into ``out``; nothing is left half-written.

    ``reference``, ``record`` and ``executor`` are passed to `sanitation.plan.run.plan_days` (a
    what-if's baseline; this plan's, recorded; where the solves run).
    """
    out = check_out_folder(out, markers=PLAN_MARKERS)
    context = PlanningContext.build(scenario)
    try:
        document = plan_days(
            scenario,
            dates,
            engine=engine,
            time_limit_s=time_limit_s,
            seed=seed,
            progress=progress,
            workers=workers,
            context=context,
            reference=reference,
            record=record,
            executor=executor,
        )
    except VerificationError as error:
        error.add_context(f"scenario {scenario.name!r}")
        raise
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        if progress:
            progress("outputs", "writing files", 0, 1)
        written = write_plan_outputs(document, context, staging)
        replace_folder(staging, out, markers=PLAN_MARKERS)
        if progress:
            progress("outputs", str(out), 1, 1)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return document, [out / p.relative_to(staging) for p in written]
