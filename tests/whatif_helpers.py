"""A base plan and a what-if planned against it, as `sanitation compare` does (the base's
`Baseline` recorded, then passed as the what-if's reference), with the default engine."""

from __future__ import annotations

import concurrent.futures as cf
from pathlib import Path

from sanitation.plan import plan_days
from sanitation.plan.model import PlanDocument
from sanitation.plan.reuse import Baseline
from sanitation.scenario import load_scenario


def plan_against_base(
    base_path: Path, whatif_path: Path, *, time_limit_s: float, cache_dir: Path | None = None
) -> tuple[Baseline, PlanDocument, PlanDocument]:
    """The base's recorded `Baseline`, its plan and the what-if's (one date: the base's)."""
    base = load_scenario(base_path)
    record = Baseline()
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        base_doc = plan_days(
            base,
            [base.plan_date],
            time_limit_s=time_limit_s,
            record=record,
            executor=pool,
            cache_dir=cache_dir,
        )
        whatif_doc = plan_days(
            load_scenario(whatif_path),
            [base.plan_date],
            time_limit_s=time_limit_s,
            reference=record,
            executor=pool,
            cache_dir=cache_dir,
        )
    return record, base_doc, whatif_doc
