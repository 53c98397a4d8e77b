"""Route-aware siting: open sites and allocate customers with real routes in the loop.

`solve_siting` takes a `SitingProblem` (site costs and capacities, customer demands, allowed
pairs, non-routing assignment costs and a route-free estimate) and a `RouteOracle` that routes one
site's customers (optionally a `RouteBatch` that routes several at once); see
`sanitation.siting.search` for the method.
"""

from sanitation.siting._pool import RoutePool
from sanitation.siting.problem import (
    RouteBatch,
    RoutedGroup,
    RouteOracle,
    RouteRequest,
    SitingProblem,
    SitingResult,
    Whole,
    WholeRouter,
)
from sanitation.siting.search import solve_siting

__all__ = [
    "RouteBatch",
    "RouteOracle",
    "RoutePool",
    "RouteRequest",
    "RoutedGroup",
    "SitingProblem",
    "SitingResult",
    "Whole",
    "WholeRouter",
    "solve_siting",
]
