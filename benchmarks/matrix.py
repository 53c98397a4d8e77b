"""Travel-matrix benchmark: CCH matrix vs a networkx Dijkstra loop on a >= 100,000-edge network.

Builds a seeded synthetic grid network (``geo.synthetic.grid_roads``), picks N locations in
the main strongly connected component, computes the N x N travel-time matrix with the
default engine (``geo.matrix.CCHEngine``), then the same matrix with a loop of
``networkx.single_source_dijkstra_path_length`` in the same run, checks they agree (within
1 s: the matrix rounds edge times to ms and totals to whole seconds) and prints one JSON line::

    {"edges": E, "locations": N, "seconds": S, "preprocess_seconds": P,
     "networkx_seconds": T, "ratio": T/S}

``seconds`` is the matrix query alone (wall clock; the CPU seconds and the load average go
to stderr, since the machine is shared); ``preprocess_seconds`` is the one-time work per
network and profile (routing arrays, CCH node order, contraction and customisation), measured
with an empty cache. Usage: ``python benchmarks/matrix.py [--rows 162] [--locations 1000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import networkx as nx
import numpy as np

from geo._profile import profile_graph
from geo.graph import from_road_lines
from geo.matrix import UNREACHABLE, CCHEngine, travel_matrix
from geo.network import SMALL_TRUCK
from geo.synthetic import grid_roads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=162, help="grid rows = columns")
    parser.add_argument("--locations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args(argv)

    network = from_road_lines(
        grid_roads(rows=args.rows, cols=args.rows, seed=args.seed), name="benchmark grid"
    )
    profile = SMALL_TRUCK
    with tempfile.TemporaryDirectory() as cache:
        engine = CCHEngine(cache_dir=cache)
        t0 = time.perf_counter()
        pg = profile_graph(network, profile)
        a = network.arrays
        engine.prepare(pg, lat=a.lat, lon=a.lon)
        preprocess = time.perf_counter() - t0

        rng = np.random.default_rng(args.seed)
        candidates = a.node_ids[pg.main_component]
        nodes = np.sort(rng.choice(candidates, size=args.locations, replace=False))

        t0, c0 = time.perf_counter(), time.process_time()
        m = travel_matrix(network, profile, nodes, distances=False, engine=engine, cache_dir=False)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0

    graph = network.subgraph(profile).graph
    targets = nodes.tolist()
    reference = np.empty((len(nodes), len(nodes)))
    t0, c0 = time.perf_counter(), time.process_time()
    for i, s in enumerate(targets):
        lengths = nx.single_source_dijkstra_path_length(graph, s, weight="travel_time")
        reference[i] = [lengths.get(t, np.inf) for t in targets]
    nx_seconds, nx_cpu = time.perf_counter() - t0, time.process_time() - c0

    reachable = np.isfinite(reference)
    if not np.array_equal(reachable, m.time_s != UNREACHABLE):
        print("engine and networkx disagree on reachability", file=sys.stderr)
        return 1
    worst = float(np.max(np.abs(m.time_s[reachable] - reference[reachable]), initial=0.0))
    if worst > 1.0:
        print(f"engine and networkx disagree by up to {worst:.3f} s", file=sys.stderr)
        return 1
    # context for reading the figures on a shared machine (stderr, not part of the contract)
    context = {
        "cpu_seconds": round(cpu, 3),
        "networkx_cpu_seconds": round(nx_cpu, 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(context), file=sys.stderr)
    print(
        json.dumps(
            {
                "edges": network.number_of_edges,
                "locations": len(nodes),
                "seconds": round(seconds, 3),
                "preprocess_seconds": round(preprocess, 3),
                "networkx_seconds": round(nx_seconds, 3),
                "ratio": round(nx_seconds / seconds, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
