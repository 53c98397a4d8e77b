"""Facility-location benchmarks: run them and write the tables of ``docs/benchmarks_facility.md``.

Suites (instances read by path from ``../shared/benchmarks/facility_location``):

``cflp-small``  OR-Library cap41-cap134 (37 multi-source problems), ``--small-limit`` s each;
``cflp-large``  capa/capb/capc with their 12 capacity values, ``--large-limit`` s each;
``sscflp``      Holmberg p1-p71 single-source, ``--sscflp-limit`` s each.

Each suite goes through `sanitation.bench.run_bench` (the code path of ``sanitation bench``) and
its JSON report is written to ``--results`` (one file per suite); the Markdown section is then
rendered from those JSON files, so ``--render-only`` rebuilds the page without solving.

Usage::

    python benchmarks/facility_tables.py                       # every suite, then the page
    python benchmarks/facility_tables.py --suite sscflp        # one suite, then the page
    python benchmarks/facility_tables.py --render-only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import ortools
from run_meta import run_meta

from sanitation.bench import run_bench, write_json

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "benchmarks" / "facility_location"
CFLP = SHARED / "cflp_orlib_beasley" / "instances"
SSCFLP = SHARED / "sscflp_holmberg" / "instances"
SMALL = [f"cap{k}" for k in (41, 42, 43, 44, 51, 61, 62, 63, 64, 71, 72, 73, 74)] + [
    f"cap{a}{b}" for a in (8, 9, 10, 11, 12, 13) for b in (1, 2, 3, 4)
]
SUITES = {
    "cflp-small": ("cflp", lambda: [CFLP / f"{name}.txt" for name in SMALL]),
    "cflp-large": ("cflp", lambda: [CFLP / f"{name}.txt" for name in ("capa", "capb", "capc")]),
    "sscflp": ("sscflp", lambda: [SSCFLP / f"p{k}" for k in range(1, 72)]),
}
TITLES = {
    "cflp-small": "OR-Library cap41-cap134 (multi-source CFLP, 37 problems)",
    "cflp-large": "OR-Library capa, capb, capc (multi-source CFLP, 100 x 1000, 12 problems)",
    "sscflp": "Holmberg et al. (1999) p1-p71 (single-source CFLP, 71 problems)",
}


def run_suite(suite: str, time_limit_s: float, results: Path, seed: int) -> Path:
    """Solve one suite and write its JSON report (with run metadata) to ``results``."""
    problem, paths = SUITES[suite]
    load = os.getloadavg()[0]
    start = time.time()
    report = run_bench(problem, paths(), time_limit_s=time_limit_s, engine=None, seed=seed)
    report["meta"] = run_meta(suite, seed, start, load, ortools=ortools.__version__)
    out = results / f"{suite}.json"
    write_json(report, out)
    return out


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return ""
    if abs(value) < 0.5 * 10**-digits:
        value = 0.0  # no "-0.0000" for costs a rounding error below the published optimum
    return f"{value:,.{digits}f}"


def render(results: Path) -> str:
    """The Markdown section from the suite reports found in ``results``."""
    lines = [
        "## Facility location (station siting)",
        "",
        "Produced by `benchmarks/facility_tables.py` (do not edit by hand). Solver: "
        "`sanitation.assignment.solve`, engine `racing`, on the clock (single-source: a "
        "Lagrangian greedy solution improved by iterated local search warm-starts CP-SAT and "
        "SCIP racing in two threads, one thread each; multi-source: SCIP; above 20,000 "
        "point-station pairs: Lagrangian relaxation, then the exact model restricted to the "
        "stations it selects, widened while time remains). This was engine `auto` until "
        "2026-12-01; `auto`, the plan's engine, is now deterministic (work budgets, CP-SAT alone "
        "where this races): its figures are in `docs/assignment.md`. "
        "Cost = the benchmark's own objective; "
        "optimum from `capopt.csv` / `bks_optimal.csv`; gap = 100 (cost - optimum) / optimum; "
        "*proven* = the solver proved optimality itself (bound = cost). Seconds are wall-clock "
        "including reading the file, on a shared 2-core machine (other jobs were running: see "
        "the load average).",
        "",
    ]
    for suite in SUITES:
        path = results / f"{suite}.json"
        if not path.exists():
            continue
        report = json.loads(path.read_text(encoding="utf-8"))
        rows = report["results"]
        meta = report.get("meta", {})
        seconds = [r["seconds"] for r in rows]
        gaps = [r["gap_pct"] for r in rows if r["gap_pct"] is not None]
        proven = sum(bool(r.get("optimal")) for r in rows)
        lines += [
            f"### {TITLES[suite]}",
            "",
            f"Time limit {report['time_limit_s']:g} s per problem; seed {meta.get('seed')}; run "
            f"{meta.get('started_utc')} UTC, OR-Tools {meta.get('ortools')}, {meta.get('cpus')} "
            f"CPUs, load average {meta.get('load_average_at_start')} at start.",
            "",
            f"**{len(rows)} problems: {proven} proven optimal; "
            f"{sum(g <= 1e-6 for g in gaps)} at the optimum; max gap {max(gaps):.4f} %; "
            f"median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s.**",
            "",
            "| instance | cost | optimum | gap % | seconds | proven |",
            "|---|---:|---:|---:|---:|:---:|",
        ]
        for r in rows:
            lines.append(
                f"| {r['instance']} | {_fmt(r['cost'])} | {_fmt(r['bks'])} | "
                f"{_fmt(r['gap_pct'], 4)} | {r['seconds']:.2f} | "
                f"{'yes' if r.get('optimal') else 'no'} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=[*SUITES, "all"], default="all")
    parser.add_argument("--small-limit", type=float, default=5.0)
    parser.add_argument("--large-limit", type=float, default=60.0)
    parser.add_argument("--sscflp-limit", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--results", type=Path, default=ROOT / "benchmarks" / "results" / "facility"
    )
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks_facility.md")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args(argv)
    limits = {
        "cflp-small": args.small_limit,
        "cflp-large": args.large_limit,
        "sscflp": args.sscflp_limit,
    }
    if not args.render_only:
        for suite in SUITES if args.suite == "all" else [args.suite]:
            out = run_suite(suite, limits[suite], args.results, args.seed)
            print(f"wrote {out}", file=sys.stderr)
    args.docs.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.docs.with_suffix(".tmp")
    tmp.write_text(render(args.results), encoding="utf-8")
    tmp.replace(args.docs)
    print(f"wrote {args.docs}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
