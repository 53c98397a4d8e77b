"""Territories (定人定车定线): each point of a station belongs to one truck over the planned week.

`TerritoryProblem` describes a station's points, their visits and its trucks;
`build_territories` splits the points among the trucks (compact by road travel time,
contiguous along roads, balanced by estimated work, within every truck's day). Solvers here
take matrices and problem objects only, like `sanitation.routing`.
"""

from sanitation.territory.build import build_territories
from sanitation.territory.problem import ChangeReason, Territories, TerritoryProblem, Truck

__all__ = ["ChangeReason", "Territories", "TerritoryProblem", "Truck", "build_territories"]
