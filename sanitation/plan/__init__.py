"""Orchestration of the chain: assignment → schedule → routes → transfer → verification → KPIs.

`plan_days` returns a `PlanDocument` and writes nothing; the writers live above the plan, in
`sanitation.io` (`sanitation.io.plan_folder.plan_to_folder` plans and writes an output folder).
"""

from sanitation.plan.model import PlanDocument
from sanitation.plan.run import plan_days, week_dates

__all__ = ["PlanDocument", "plan_days", "week_dates"]
