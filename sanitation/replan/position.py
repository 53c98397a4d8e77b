"""Where a reported truck stands on the roads: on the nearest road segment it may use (the
place projected onto the segment, in the network's metric CRS), with the travel time and
distance along that segment to each end it may drive to: the segment's head, and its tail too
when the road is two-way (a reverse edge the truck may use; it turns round). A truck in the
middle of a long segment thus starts about half the segment's time from either end, not at a
node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from geo.crs import lonlat_to_xy
from geo.network import AccessProfile, RoadNetwork

EdgeKey = tuple[int, int, int]


@dataclass(frozen=True)
class RoadEnd:
    """An end of the segment a truck stands on: its node, the edge driven to reach it and the
    time (s) and distance (m) along that edge."""

    node: int
    edge: EdgeKey
    time_s: float
    distance_m: float


@dataclass(frozen=True)
class EdgeStart:
    """A truck's place on the roads: metres off the road and the ends it may drive to."""

    off_road_m: float
    ends: tuple[RoadEnd, ...]


class RoadSegments:
    """The road segments of a network one access profile may use, in metres (built once for
    every place of a re-plan)."""

    def __init__(self, network: RoadNetwork, profile: AccessProfile) -> None:
        self.network, self.profile = network, profile
        a = network.arrays
        self.index = np.flatnonzero(network.usable_mask(profile))
        crs = network.metric_crs
        geoms = network.edge_geometries()[self.index]

        def to_metres(coords: np.ndarray) -> np.ndarray:
            x, y = lonlat_to_xy(coords[:, 0], coords[:, 1], crs=crs)
            return np.column_stack([x, y])

        self.lines = shapely.transform(geoms, to_metres) if len(geoms) else geoms
        self.crs = crs
        tx, ty = lonlat_to_xy(a.lon[a.tail[self.index]], a.lat[a.tail[self.index]], crs=crs)
        self.tail_xy = np.column_stack([tx, ty])
        self.pairs = {
            (int(a.tail[e]), int(a.head[e])): e
            for e in self.index[np.argsort(-a.travel_time_s[self.index])]
        }

    def place(self, lon: float, lat: float) -> EdgeStart | None:
        """Where ``lon``/``lat`` stands (None: no road this profile may use)."""
        if not len(self.lines):
            return None
        x, y = lonlat_to_xy([lon], [lat], crs=self.crs)
        point = shapely.Point(float(x[0]), float(y[0]))
        dist = shapely.distance(self.lines, point)
        k = int(np.argmin(dist))
        e = int(self.index[k])
        line = self.lines[k]
        along = float(line.project(point))
        length = float(line.length) or 1.0
        x0, y0 = line.coords[0]
        from_tail = np.hypot(x0 - self.tail_xy[k, 0], y0 - self.tail_xy[k, 1]) < 1.0
        f = min(1.0, max(0.0, along / length if from_tail else 1.0 - along / length))
        a = self.network.arrays
        keys = a.edge_keys
        tail, head = int(a.tail[e]), int(a.head[e])
        ends = [
            RoadEnd(
                int(a.node_ids[head]),
                keys[e],
                (1 - f) * float(a.travel_time_s[e]),
                (1 - f) * float(a.length_m[e]),
            )
        ]
        back = self.pairs.get((head, tail))
        if back is not None:
            ends.append(
                RoadEnd(
                    int(a.node_ids[tail]),
                    keys[back],
                    f * float(a.travel_time_s[back]),
                    f * float(a.length_m[back]),
                )
            )
        return EdgeStart(float(dist[k]), tuple(ends))
