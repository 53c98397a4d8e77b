"""What every stage of a plan needs from the scenario: the road network, snapped places and
travel matrices per access class, built once per plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geo.matrix import UNREACHABLE, travel_matrix
from sanitation.errors import InfeasibleError
from sanitation.scenario.model import Scenario
from sanitation.scenario.network import (
    SnappedPlaces,
    build_network,
    check_network,
    network_problems,
    snap_scenario,
)


@dataclass
class PlanningContext:
    """A scenario with its network and snapped places; matrices computed on demand.

    ``classes`` lists the access classes from the smallest truck to the largest; matrices are
    int seconds and metres, `geo.matrix.UNREACHABLE` where no usable path exists.
    """

    scenario: Scenario
    places: SnappedPlaces
    cache_dir: Path | None = None
    cut_off: dict[str, str] = field(default_factory=dict)
    lost_sites: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, scenario: Scenario, *, cache_dir: Path | None = None) -> PlanningContext:
        """Build the network, snap and check every place.

        Without road closures every problem is bad input (`ScenarioError`). With closures, a
        point they cut off stays in the plan, unserved with the reason (``cut_off``); a disposal
        site they cut off is not used (``lost_sites``); a station or depot they cut off, or all
        disposal sites, make the plan infeasible (`InfeasibleError`).
        """
        network = build_network(scenario)
        places = snap_scenario(scenario, network)
        roads = scenario.roads
        if not roads.closed_road_ids and roads.closed_areas_path is None:
            check_network(scenario, places)
            return cls(scenario, places, cache_dir)
        problems = network_problems(scenario, places)
        fatal = [p.message for p in problems if p.table in ("stations", "depots")]
        lost_sites = {p.place_id: p.message for p in problems if p.table == "disposal_sites"}
        if len(lost_sites) == len(scenario.disposal_sites):
            fatal.extend(lost_sites.values())
        if fatal:
            msg = f"the road closures cut off {len(fatal)} station(s), depot(s) or all disposal"
            raise InfeasibleError(msg, [msg, *fatal])
        cut_off = {
            p.place_id: f"cut off by the road closures: {p.detail}"
            for p in problems
            if p.table == "points"
        }
        return cls(scenario, places, cache_dir, cut_off, lost_sites)

    @property
    def classes(self) -> list[str]:
        """Access class ids, smallest truck first."""
        return [a.class_id for a in self.scenario.access_classes]

    def matrix(
        self, class_id: str, from_nodes: np.ndarray, to_nodes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Travel time (s) and fastest-path distance (m) between node sets for one class."""
        result = travel_matrix(
            self.places.network,
            self.places.profiles[class_id],
            from_nodes,
            to_nodes,
            cache_dir=self.cache_dir if self.cache_dir is not None else None,
        )
        if result.distance_m is None:  # pragma: no cover - travel_matrix always returns both
            msg = "travel_matrix returned no distances"
            raise RuntimeError(msg)
        return result.time_s, result.distance_m


def reachable(time_s: np.ndarray) -> np.ndarray:
    """Boolean mask of matrix entries with a usable path."""
    return time_s < UNREACHABLE
