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
    pg = ProfileGraph(
        n=n,
        tail=a.tail[keep].astype(np.int64),
        head=a.head[keep].astype(np.int64),
        time_ms=np.maximum(1, np.rint(a.travel_time_s[keep] * 1000.0)).astype(np.int64),
        length_m=a.length_m[keep],
        edge=keep,
        key=h,
    )
    network._cache[cache_key] = pg
    return pg
