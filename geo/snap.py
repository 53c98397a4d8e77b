"""Snap lon/lat points to the nearest road node a vehicle class may use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from geo._profile import profile_graph
from geo.crs import haversine_m, lonlat_to_xy
from geo.errors import GeoInputError
from geo.network import AccessProfile, RoadNetwork

__all__ = ["SnapResult", "snap_points"]


@dataclass(frozen=True)
class SnapResult:
    """Where points snapped.

    Attributes
    ----------
    node_ids
        Network node id per point (int64).
    distance_m
        Great-circle distance from each point to its node, metres.
    """

    node_ids: np.ndarray
    distance_m: np.ndarray


def _tree(network: RoadNetwork, profile: AccessProfile, main_component: bool):
    key = ("snap_tree", profile.key(), main_component)
    cached = network._cache.get(key)
    if cached is not None:
        return cached
    pg = profile_graph(network, profile)
    mask = pg.main_component if main_component else pg.has_edge
    cand = np.flatnonzero(mask)
    a = network.arrays
    x, y = lonlat_to_xy(a.lon[cand], a.lat[cand], crs=network.metric_crs)
    tree = cKDTree(np.column_stack([x, y])) if len(cand) else None
    network._cache[key] = (tree, cand)
    return tree, cand


def snap_points(
    network: RoadNetwork,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    profile: AccessProfile,
    max_distance_m: float | None = None,
    point_ids: Sequence[object] | None = None,
    main_component: bool = True,
    source: str = "points",
) -> SnapResult:
    """Snap WGS-84 points to the nearest node usable by ``profile``.

    Parameters
    ----------
    network
        The road network.
    lon, lat
        Point coordinates in degrees (arrays of equal length).
    profile
        Vehicle access profile; only nodes touching an edge it may use are candidates.
    max_distance_m
        Points farther than this from every candidate node are an error.
    point_ids
        Ids used in error messages (default: the point's position).
    main_component
        Only snap to the largest strongly connected part of the profile's network, so every
        snapped point can reach every other (recommended).
    source
        Label of the points' origin for messages (e.g. a file name).

    Returns
    -------
    SnapResult

    Raises
    ------
    GeoInputError
        Coordinates that are not lon/lat, no usable road at all, or points farther than
        ``max_distance_m`` (all of them listed, each with its distance).
    """
    lon_a = np.atleast_1d(np.asarray(lon, dtype=float))
    lat_a = np.atleast_1d(np.asarray(lat, dtype=float))
    ids = list(point_ids) if point_ids is not None else list(range(len(lon_a)))
    if lon_a.shape != lat_a.shape or len(ids) != len(lon_a):
        msg = f"{source}: lon, lat and point_ids must have the same length"
        raise GeoInputError(msg)
    problems = [
        f"{source}: point {ids[i]!r}: (lon, lat) = ({lon_a[i]}, {lat_a[i]}): expected WGS-84 "
        "lon in [-180, 180] and lat in [-90, 90]"
        for i in np.flatnonzero(
            ~(
                np.isfinite(lon_a)
                & np.isfinite(lat_a)
                & (np.abs(lon_a) <= 180)
                & (np.abs(lat_a) <= 90)
            )
        )
    ]
    if problems:
        msg = f"{len(problems)} bad point(s) in {source}:\n  - " + "\n  - ".join(problems)
        raise GeoInputError(msg, problems)
    tree, cand = _tree(network, profile, main_component)
    if tree is None:
        msg = f"{network.name}: no road usable by {profile.name!r}"
        raise GeoInputError(msg)
    x, y = lonlat_to_xy(lon_a, lat_a, crs=network.metric_crs)
    _, pos = tree.query(np.column_stack([x, y]))
    a = network.arrays
    node_pos = cand[pos]
    nodes = a.node_ids[node_pos]
    # report the geodesic distance (the UTM grid distance differs by up to ~0.1 %)
    dist = haversine_m(lon_a, lat_a, a.lon[node_pos], a.lat[node_pos])
    if max_distance_m is not None:
        far = np.flatnonzero(dist > max_distance_m)
        problems = [
            f"{source}: point {ids[i]!r} at ({lon_a[i]:.6f}, {lat_a[i]:.6f}): {dist[i]:.0f} m "
            f"from the nearest road usable by {profile.name!r}: expected at most "
            f"{max_distance_m:g} m"
            for i in far
        ]
        if problems:
            msg = (
                f"{len(problems)} point(s) too far from a usable road in {source}:\n  - "
                + "\n  - ".join(problems)
            )
            raise GeoInputError(msg, problems)
    return SnapResult(node_ids=nodes.astype(np.int64), distance_m=dist)
