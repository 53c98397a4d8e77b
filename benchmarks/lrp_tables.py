"""Location-routing benchmarks: run them and write ``docs/benchmarks_lrp.md`` (then the page).

Suites:

``prodhon``    the Prodhon instances in ``../shared/benchmarks/lrp/prodhon_prins2006/instances``
               (BKS from that folder's ``bks.csv``), ``--time-limit`` s each;
``generated``  a seeded synthetic family in the same format (`sanitation.bench.lrp.
               generate_instance`: n 20..200, m 5..10, vehicle capacity 70/150, uniform and
               clustered customers, binding depot capacities), written to
               ``benchmarks/instances/lrp_generated/``. No published optimum exists for them:
               their reference is the best cost found by any run recorded here (``--reference``
               runs longer searches with other seeds), so their gap is against our own best, a
               weaker test than a BKS.

Each suite goes through `sanitation.bench.run_bench` (the code path of ``sanitation bench lrp``)
and its JSON report is written to ``benchmarks/results/lrp_<suite>.json``; the Markdown section
is rendered from those files (``--render-only`` rebuilds it without solving).

Usage::

    python benchmarks/lrp_tables.py                         # both suites at 60 s, then the page
    python benchmarks/lrp_tables.py --suite generated --reference --reference-limit 150
    python benchmarks/lrp_tables.py --render-only
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from run_meta import run_meta

from sanitation.bench import run_bench, write_json
from sanitation.bench.lrp import generate_instance, write_prodhon

ROOT = Path(__file__).resolve().parents[1]
PRODHON = ROOT.parent / "shared" / "benchmarks" / "lrp" / "prodhon_prins2006" / "instances"
GENERATED = ROOT / "benchmarks" / "instances" / "lrp_generated"
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks_lrp.md"
FAMILY = [
    # (n, m, vehicle capacity, clustered, seed)
    (20, 5, 70, False, 11),
    (20, 5, 150, True, 12),
    (50, 5, 70, True, 13),
    (50, 5, 150, False, 14),
    (100, 5, 70, False, 15),
    (100, 10, 150, True, 16),
    (150, 10, 70, True, 17),
    (200, 10, 70, False, 18),
    (200, 10, 150, True, 19),
]
REFERENCE_SEEDS = (101, 202)


def write_family() -> list[Path]:
    """Write the generated family (same seeds, same files) and its ``bks.csv`` of references."""
    GENERATED.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, m, q, clustered, seed in FAMILY:
        inst = generate_instance(n=n, m=m, vehicle_capacity=q, clustered=clustered, seed=seed)
        paths.append(write_prodhon(inst, GENERATED / f"{inst.name}.dat"))
    _write_references()
    return paths


def _best_costs() -> dict[str, tuple[int, str]]:
    """The cheapest feasible cost per generated instance over every recorded run, and over the
    references already in ``bks.csv`` (a run written over an older report keeps its best)."""
    best: dict[str, tuple[int, str]] = {}
    old = GENERATED / "bks.csv"
    if old.exists():
        with old.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                source = row["note"].partition("(")[2].partition(")")[0] or "bks.csv"
                best[row["instance"]] = (int(row["bks_cost"]), source)
    for path in sorted(RESULTS.glob("lrp_generated*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        for r in report["results"]:
            if r["feasible"] and (r["instance"] not in best or r["cost"] < best[r["instance"]][0]):
                best[r["instance"]] = (int(r["cost"]), path.name)
    return best


def _write_references() -> None:
    best = _best_costs()  # before the file is opened for writing: it reads the old one
    with (GENERATED / "bks.csv").open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["instance", "bks_cost", "note"])
        for name, (cost, source) in sorted(best.items()):
            out.writerow([name, cost, f"best of our own runs ({source}); synthetic, no optimum"])


def run_suite(suite: str, time_limit_s: float, seed: int, tag: str = "") -> Path:
    """Solve one suite; write ``benchmarks/results/lrp_<suite><tag>.json``."""
    paths = [PRODHON] if suite == "prodhon" else write_family()
    load = os.getloadavg()[0]
    start = time.time()
    report = run_bench("lrp", paths, time_limit_s=time_limit_s, engine=None, seed=seed)
    report["meta"] = run_meta(suite, seed, start, load)
    out = RESULTS / f"lrp_{suite}{tag}.json"
    write_json(report, out)
    if suite == "generated":
        _write_references()
    return out


def _summary(rows: list[dict[str, Any]], refs: dict[str, float]) -> tuple[list[float], str]:
    gaps = []
    for r in rows:
        ref = refs.get(r["instance"], r.get("bks"))
        if r["feasible"] and ref:
            gaps.append(100.0 * (r["cost"] - ref) / ref)
    if not gaps:
        return gaps, "no gaps"
    return gaps, (
        f"**{len(rows)} instances, {sum(r['feasible'] for r in rows)} checked feasible: mean gap "
        f"{statistics.mean(gaps):.2f} %, max {max(gaps):.2f} %; max "
        f"{max(r['seconds'] for r in rows):.1f} s.**"
    )


def render() -> str:
    """The Markdown section from ``benchmarks/results/lrp_*.json``."""
    refs = {k: float(v[0]) for k, v in _best_costs().items()}
    lines = [
        "## Location-routing (Prodhon format): `sanitation bench lrp`",
        "",
        "Produced by `benchmarks/lrp_tables.py` (do not edit by hand). Cost = opening costs of the "
        "depots used + 1000 per route + Σ ⌈100 × Euclidean distance⌉ per edge; every solution is "
        "re-checked from the instance file by `sanitation.bench.lrp.check_solution` (each "
        "customer once, vehicle and depot capacities, cost recomputed). Solver: "
        "`sanitation.siting.solve_siting` (MIP proposal on the round-trip estimate, real routes "
        "re-price the sites, open/close/swap and boundary moves, PyVRP per depot and multi-depot, "
        "a set-cover MIP recombining the pool of routes seen), "
        "one search per core with seeds s and s+1. *estimate* = the siting the estimate alone "
        "chooses, routed by the same PyVRP oracle (the two-stage method of before). Seconds are "
        "wall-clock per instance on the shared 2-core machine; the load is recorded.",
        "",
    ]
    titles = {
        "prodhon": "Prodhon et al. instances in ../shared (gap against the BKS of bks.csv)",
        "generated": "Generated family (synthetic; gap against the best cost of any of our runs)",
    }
    for suite, title in titles.items():
        path = RESULTS / f"lrp_{suite}.json"
        if not path.exists():
            continue
        report = json.loads(path.read_text(encoding="utf-8"))
        rows = report["results"]
        meta = report.get("meta", {})
        use = refs if suite == "generated" else {}
        _, summary = _summary(rows, use)
        lines += [
            f"### {title}",
            "",
            f"Time limit {report['time_limit_s']:g} s per instance; seed {meta.get('seed')}; run "
            f"{meta.get('started_utc')} UTC, {meta.get('cpus')} CPUs, load average "
            f"{meta.get('load_average_at_start')} at start; `uptime` at the end: "
            f"`{meta.get('uptime_at_end', '')}`.",
            "",
            summary,
            "",
            "| instance | cost | reference | gap % | estimate | seconds | open depots | routes |",
            "|---|---:|---:|---:|---:|---:|---|---:|",
        ]
        for r in rows:
            ref = use.get(r["instance"], r.get("bks"))
            gap = f"{100.0 * (r['cost'] - ref) / ref:.2f}" if ref and r["feasible"] else ""
            est = r.get("estimate_routed_cost")
            lines.append(
                f"| {r['instance']} | {r['cost']:,} | {ref:,.0f} | {gap} | "
                f"{est:,.0f} | {r['seconds']:.1f} | {r.get('open_depots')} | {r['vehicles']} |"
                if ref
                else f"| {r['instance']} | {r['cost']:,} | | | {est:,.0f} | {r['seconds']:.1f} "
                f"| {r.get('open_depots')} | {r['vehicles']} |"
            )
        lines.append("")
    ref_path = RESULTS / "lrp_generated_reference.json"
    if ref_path.exists():
        report = json.loads(ref_path.read_text(encoding="utf-8"))
        meta = report.get("meta", {})
        lines += [
            f"Reference runs for the generated family: {report['time_limit_s']:g} s each, seeds "
            f"{meta.get('seed')} (and +1), run {meta.get('started_utc')} UTC; the reference of "
            "each instance is the cheapest of every recorded run (these, the table's run and the "
            "earlier runs kept as `benchmarks/results/lrp_generated_*.json`).",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=["prodhon", "generated"], action="append")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reference", action="store_true", help="longer reference runs")
    parser.add_argument("--reference-limit", type=float, default=150.0)
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    if not args.render_only:
        for suite in args.suite or ["prodhon", "generated"]:
            if args.reference and suite == "generated":
                run_suite(suite, args.reference_limit, REFERENCE_SEEDS[0], "_reference")
            else:
                print(f"wrote {run_suite(suite, args.time_limit, args.seed)}")
    DOC.write_text(render(), encoding="utf-8")
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "benchmarks_doc.py")], check=True)


if __name__ == "__main__":
    main()
