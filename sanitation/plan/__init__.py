"""Orchestration of the chain: assignment → schedule → routes → transfer → verification → KPIs.

`plan_days` returns a `PlanDocument`; `write_plan` plans and writes a complete output folder.
"""

from sanitation.plan.model import PlanDocument
from sanitation.plan.run import plan_days, week_dates

__all__ = ["PlanDocument", "plan_days", "week_dates"]
