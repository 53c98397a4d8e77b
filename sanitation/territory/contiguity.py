"""Road neighbours of a station's points, and territories contiguous along them.

Points are not road nodes, so their road adjacency is read off the travel-time matrix: two
points are neighbours when no third point lies between them, i.e. none with
t(i,m)² + t(m,j)² < t(i,j)² (the Gabriel graph, Gabriel & Sokal 1969, "A new statistical
approach to geographic variation analysis", Systematic Zoology 18(3), on the mean travel time
of both directions). A point on the road from i to j (t(i,m) + t(m,j) = t(i,j)) is between
them, so points along one road are neighbours in road order. Candidates are each point's
`CANDIDATES` nearest; a third point between i and j is nearer to i than j is, so the test
among them is exact. The Gabriel graph holds a minimum spanning tree of the travel times;
when the candidates miss a link, the tree's links are added, so points joined by roads form
one connected graph. One graph per access profile, over the points its trucks may serve, on
its own roads.

Contiguity in the assignment is the shortest-path model of districting (Zoltners & Sinha
1983, "Sales territory alignment: a review and model", Management Science 29(11); Mehrotra,
Johnson & Nemhauser 1998, "An optimization based heuristic for political districting",
Management Science 44(8)): a point i ≠ c of the territory centred on c needs a neighbour in
the same territory that is strictly closer to c along the graph (travel-time shortest paths
over neighbour links, each at least 1 s). Following closer neighbours leads to c, so every
such territory is connected. It is sufficient, not necessary: a connected territory whose
point reaches c only through farther points is excluded.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree

from sanitation.territory.problem import NO_PATH_S

#: neighbour candidates per point (assumed: the Gabriel graph of random points has a mean
#: degree of 4, Matula & Sokal 1980, "Properties of Gabriel graphs relevant to geographic
#: variation research", Geographical Analysis 12(3))
CANDIDATES = 8

Adjacency = tuple[tuple[int, ...], ...]


def mean_travel(matrix: np.ndarray) -> np.ndarray:
    """(points, points): mean travel (s) of both directions between points (inf: no path)."""
    inner = matrix[2:, 2:].astype(np.float64)
    both = (inner + inner.T) / 2
    both[(inner >= NO_PATH_S) | (inner.T >= NO_PATH_S)] = np.inf
    return both


def road_neighbours(matrix: np.ndarray, members: np.ndarray) -> Adjacency:
    """Per point, its road neighbours among ``members`` (bool per point) on ``matrix``'s roads
    (module docstring); a point not in ``members`` has none."""
    n = len(members)
    both = mean_travel(matrix)
    both[~members, :] = np.inf
    both[:, ~members] = np.inf
    np.fill_diagonal(both, np.inf)
    edges: set[tuple[int, int]] = set()
    width = min(CANDIDATES, n - 1)
    if width > 0:
        near = np.argpartition(both, width - 1, axis=1)[:, :width]
        d_near = np.take_along_axis(both, near, axis=1)
        between = both[near[:, :, None], near[:, None, :]]  # t(m_a, j_b)
        blocked = (d_near[:, :, None] ** 2 + between**2 < d_near[:, None, :] ** 2).any(axis=1)
        for a, b in zip(*np.nonzero(np.isfinite(d_near) & ~blocked), strict=True):
            i, j = int(a), int(near[a, b])
            edges.add((min(i, j), max(i, j)))
    edges |= _tree_links(both, members, edges)
    adjacency: list[list[int]] = [[] for _ in range(n)]
    for i, j in sorted(edges):
        adjacency[i].append(j)
        adjacency[j].append(i)
    return tuple(tuple(a) for a in adjacency)


def _tree_links(
    both: np.ndarray, members: np.ndarray, edges: set[tuple[int, int]]
) -> set[tuple[int, int]]:
    """The minimum spanning tree's links when ``edges`` leave mutually reachable members apart
    (none when they are connected already)."""
    n = len(members)
    graph = _graph(n, edges, np.ones(len(edges)))
    pieces = connected_components(graph, directed=False)[1]
    if len({int(pieces[i]) for i in np.flatnonzero(members)}) <= 1:
        return set()
    finite = np.where(np.isfinite(both), both + 1.0, 0.0)  # +1: a zero is no link to scipy
    tree = minimum_spanning_tree(csr_matrix(finite)).tocoo()
    return {
        (min(int(i), int(j)), max(int(i), int(j))) for i, j in zip(tree.row, tree.col, strict=True)
    }


def _graph(n: int, edges: Collection[tuple[int, int]], weights: np.ndarray) -> csr_matrix:
    """The sparse graph of ``edges`` (one direction each) with ``weights``."""
    pairs = list(edges)
    rows = [i for i, _ in pairs]
    cols = [j for _, j in pairs]
    return csr_matrix((weights, (rows, cols)), shape=(n, n))


def closer_neighbours(
    adjacency: Adjacency, matrix: np.ndarray, usable: np.ndarray, centre: int
) -> list[tuple[int, ...] | None]:
    """Per point, its ``usable`` neighbours strictly closer to ``centre`` along the graph of
    ``usable`` points (module docstring); None for a point the graph does not lead to from
    the centre (or not usable). The centre's entry is empty."""
    n = len(adjacency)
    both = mean_travel(matrix)
    edges = [(i, j) for i in range(n) if usable[i] for j in adjacency[i] if usable[j]]
    weights = np.array([max(1.0, both[i, j]) for i, j in edges])
    if edges:
        dist = dijkstra(_graph(n, edges, weights), directed=False, indices=centre)
    else:
        dist = np.full(n, np.inf)
        dist[centre] = 0.0
    out: list[tuple[int, ...] | None] = []
    for i in range(n):
        if not usable[i] or not np.isfinite(dist[i]):
            out.append(None)
        else:
            out.append(tuple(j for j in adjacency[i] if usable[j] and dist[j] < dist[i]))
    return out


def detached(adjacency: Adjacency, members: Sequence[int], centre: int) -> list[int]:
    """The ``members`` of a territory apart from its piece (connected along ``adjacency``)
    that holds ``centre``, or its largest piece when the centre is not a member; empty when
    the territory is contiguous."""
    inside = set(members)
    piece: dict[int, int] = {}
    for start in sorted(inside):
        if start in piece:
            continue
        piece[start] = start
        stack = [start]
        while stack:
            i = stack.pop()
            for j in adjacency[i]:
                if j in inside and j not in piece:
                    piece[j] = start
                    stack.append(j)
    if not piece:
        return []
    sizes: dict[int, int] = {}
    for root in piece.values():
        sizes[root] = sizes.get(root, 0) + 1
    main = piece[centre] if centre in piece else max(sizes, key=lambda r: (sizes[r], -r))
    return sorted(i for i, root in piece.items() if root != main)
