"""Compact per-profile routing arrays, cached on the RoadNetwork (private)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from geo.network import AccessProfile, RoadNetwork


@dataclass(frozen=True, eq=False)
class Topology:
    """Every directed node pair joined by at least one edge (any profile), sorted by pair.

    One contraction hierarchy is built on this and customised per profile (arcs a profile
    may not use get an infinite weight).
    """

    n: int
    tail: np.ndarray  # int64
    head: np.ndarray  # int64
    pair_key: np.ndarray  # tail * n + head, sorted
    key: str  # hash of node count, arcs and node positions


def topology(network: RoadNetwork) -> Topology:
    """The (cached) Topology of ``network``."""
    cached = network._cache.get("topology")
    if isinstance(cached, Topology):
        return cached
    a = network.arrays
    n = len(a.node_ids)
    pair = np.unique(a.tail * n + a.head)
    tail, head = pair // n, pair % n
    h = hashlib.sha256(b"topology v1")
    for arr in (np.int64(n), tail, head, np.round(a.lat, 7), np.round(a.lon, 7)):
        h.update(np.ascontiguousarray(arr).tobytes())
    topo = Topology(n=n, tail=tail, head=head, pair_key=pair, key=h.hexdigest())
    network._cache["topology"] = topo
    return topo


@dataclass(frozen=True, eq=False)
class ProfileGraph:
    """The edges a profile may use, parallel edges reduced to the fastest one.

    Node indices are positions in ``network.arrays.node_ids`` (every network node, even
    those this profile cannot reach). ``time_ms`` are integer milliseconds (>= 1), the
    routing weight; ``length_m`` is the length of that fastest parallel edge.
    """

    n: int
    tail: np.ndarray  # int64
    head: np.ndarray  # int64
    time_ms: np.ndarray  # int64
    length_m: np.ndarray  # float
    edge: np.ndarray  # index into network.arrays edges
    key: str  # content hash of network + profile
    topology: Topology
    topo_index: np.ndarray  # position of each edge's (tail, head) in topology

    @cached_property
    def csr(self) -> csr_matrix:
        """Travel-time matrix (ms) in CSR form, rows = tail."""
        return csr_matrix(
            (self.time_ms.astype(float), (self.tail, self.head)), shape=(self.n, self.n)
        )

    @cached_property
    def pair_key(self) -> np.ndarray:
        """Sorted ``tail * n + head`` (for looking up an edge by its end nodes)."""
        return self.tail * self.n + self.head

    def edge_of(self, tail: np.ndarray, head: np.ndarray) -> np.ndarray:
        """Positions (into this graph's arrays) of edges tail -> head (they must exist)."""
        return np.searchsorted(self.pair_key, tail * self.n + head)

    @cached_property
    def main_component(self) -> np.ndarray:
        """Boolean mask of nodes in the largest strongly connected component with an edge."""
        if len(self.tail) == 0:
            return np.zeros(self.n, dtype=bool)
        _, label = connected_components(self.csr, directed=True, connection="strong")
        has_edge = np.zeros(self.n, dtype=bool)
        has_edge[self.tail] = True
        has_edge[self.head] = True
        counts = np.bincount(label[has_edge])
        return (label == int(np.argmax(counts))) & has_edge

    @cached_property
    def has_edge(self) -> np.ndarray:
        """Boolean mask of nodes touching at least one usable edge."""
        mask = np.zeros(self.n, dtype=bool)
        mask[self.tail] = True
        mask[self.head] = True
        return mask


def profile_graph(network: RoadNetwork, profile: AccessProfile) -> ProfileGraph:
    """The (cached) ProfileGraph of ``network`` for ``profile``."""
    cache_key = ("profile_graph", profile.key())
    cached = network._cache.get(cache_key)
    if isinstance(cached, ProfileGraph):
        return cached
    a = network.arrays
    mask = network.usable_mask(profile)
    idx = np.flatnonzero(mask)
    t_ms = np.maximum(1, np.rint(a.travel_time_s[idx] * 1000.0)).astype(np.int64)
    n = len(a.node_ids)
    pair = a.tail[idx] * n + a.head[idx]
    order = np.lexsort((a.length_m[idx], t_ms, pair))
    pair_sorted = pair[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair_sorted[1:] != pair_sorted[:-1]
    keep = idx[order[first]]
    h = hashlib.sha256(f"{network.content_hash()}|{profile.key()}".encode()).hexdigest()
    topo = topology(network)
    tail, head = a.tail[keep].astype(np.int64), a.head[keep].astype(np.int64)
    pg = ProfileGraph(
        n=n,
        tail=tail,
        head=head,
        time_ms=np.maximum(1, np.rint(a.travel_time_s[keep] * 1000.0)).astype(np.int64),
        length_m=a.length_m[keep],
        edge=keep,
        key=h,
        topology=topo,
        topo_index=np.searchsorted(topo.pair_key, tail * n + head),
    )
    network._cache[cache_key] = pg
    return pg
