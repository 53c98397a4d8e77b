"""Transfer-station siting and collection-point-to-station assignment (OR-Tools)."""

from sanitation.assignment.build import build_problem, collection_cost_cny
from sanitation.assignment.problem import (
    FORCED_CLOSED,
    FORCED_OPEN,
    FREE,
    AssignmentProblem,
    status_codes,
)
from sanitation.assignment.solve import (
    AssignmentParams,
    AssignmentSolution,
    CostSplit,
    check_feasible,
    evaluate,
    solve,
)

__all__ = [
    "FORCED_CLOSED",
    "FORCED_OPEN",
    "FREE",
    "AssignmentParams",
    "AssignmentProblem",
    "AssignmentSolution",
    "CostSplit",
    "build_problem",
    "check_feasible",
    "collection_cost_cny",
    "evaluate",
    "solve",
    "status_codes",
]
