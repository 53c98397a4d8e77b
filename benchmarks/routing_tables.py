"""Run the routing benchmark suites and write ``docs/benchmarks_routing.md``.

Each suite goes through the same code as ``sanitation bench`` (the modules in
`sanitation.bench`), every solution is checked by the independent verifier, and the raw results
are kept as JSON under ``benchmarks/results/`` so the document can be re-rendered without
re-running (``--render-only``).

    .venv/bin/python benchmarks/routing_tables.py --suites cvrp --time-limit 60
    .venv/bin/python benchmarks/routing_tables.py --suites vrptw --time-limit 30 --every 4
    .venv/bin/python benchmarks/routing_tables.py --suites waste --time-limit 60
    .venv/bin/python benchmarks/routing_tables.py --suites waste_generated --time-limit 60
    .venv/bin/python benchmarks/routing_tables.py --suites gh1000 --time-limit 60 --every 6
    .venv/bin/python benchmarks/routing_tables.py --render-only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from pyvrp_alone import solve_alone

from sanitation.bench import (
    cvrp,
    expand_paths,
    gap_pct,
    read_instance,
    run_bench,
    vrptw,
    waste,
    write_json,
)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "benchmarks"
RESULTS = ROOT / "benchmarks" / "results"
WASTE_GENERATED = ROOT / "benchmarks" / "instances" / "waste_generated"
DOC = ROOT / "docs" / "benchmarks_routing.md"

#: suite -> (bench problem, instance folder, file suffixes)
SUITES = {
    "cvrp": ("cvrp", SHARED / "cvrp" / "X", (".vrp",)),
    "vrptw": ("vrptw", SHARED / "vrptw" / "solomon" / "instances", (".txt",)),
    "gh200": ("vrptw", SHARED / "vrptw" / "gehring_homberger_200" / "instances", (".txt",)),
    "gh1000": (
        "vrptw",
        SHARED / "vrptw" / "gehring_homberger_1000_dimacs" / "instances",
        (".vrp",),
    ),
    "waste": ("waste", SHARED / "waste_vrptw_if" / "kim2006" / "instances", (".txt",)),
    # seeded synthetic family in the Kim format (`write_waste_family` writes it first)
    "waste_generated": ("waste", WASTE_GENERATED, (".txt",)),
}
DEFAULT_TIME_LIMIT_S = {
    "cvrp": 60.0,
    "vrptw": 30.0,
    "gh200": 30.0,
    "gh1000": 60.0,
    "waste": 60.0,
    "waste_generated": 60.0,
}
#: suites rendered with the waste table
WASTE_SUITES = ("waste", "waste_generated")
#: the problems PyVRP alone (`benchmarks/pyvrp_alone.py`) is run beside: reader, builder and
#: the factor from the problem's distance unit to the benchmark's cost unit
PEER_PROBLEMS = {
    "cvrp": (cvrp.read_vrplib, cvrp.to_problem, 1),
    "vrptw": (vrptw.read_vrptw, vrptw.to_problem, vrptw.SCALE),
}

#: Kim et al. (2006) heuristic results, transcribed in a public student repository
#: (per the benchmark folder README: unverified, not a BKS).
KIM_2006 = {"102_stop": "3 veh / 205.1 mi", "277_stop": "3 veh / 521.9 mi"}


def run_peer(
    problem: str, files: list[Path], bks: list[float | None], time_limit: float, seed: int
) -> list[dict[str, Any]]:
    """PyVRP alone on each file for ``time_limit`` seconds, costed and verified as ours."""
    read, to_problem, scale = PEER_PROBLEMS[problem]
    out = []
    for path, best in zip(files, bks, strict=True):
        routing = to_problem(read_instance(path, lambda p=path: read(p)))
        peer = solve_alone(routing, time_limit_s=time_limit, seed=seed)
        cost = round(sum(r.distance_m for r in peer.solution.routes) / scale, 1)
        feasible = not peer.violations
        out.append(
            {
                "cost": cost,
                "gap_pct": gap_pct(cost, best) if feasible else None,
                "vehicles": len(peer.solution.routes),
                "seconds": round(peer.seconds, 2),
                "feasible": feasible,
                "violations": peer.violations[:10],
            }
        )
    return out


def write_waste_family() -> list[Path]:
    """Write the generated waste family (`sanitation.bench.waste.GENERATED_FAMILY`; the same
    seeds give the same files) into ``benchmarks/instances/waste_generated/``."""
    WASTE_GENERATED.mkdir(parents=True, exist_ok=True)
    paths = []
    for n_stops, n_landfills, seed in waste.GENERATED_FAMILY:
        inst = waste.generate_kim(n_stops, n_landfills, seed)
        paths.append(waste.write_kim(inst, WASTE_GENERATED / f"{inst.name}.txt"))
    return paths


def run_suite(
    name: str, time_limit: float, engine: str | None, seed: int, every: int, peer: bool
) -> Path:
    """Run one suite (every ``every``-th instance) and save its JSON report; with ``peer``,
    PyVRP alone runs on each instance too, after ours, for the same time."""
    problem, folder, suffixes = SUITES[name]
    if name == "waste_generated":
        write_waste_family()
    files = expand_paths([folder], suffixes)
    files = [f for f in files if f.name.lower() != "readme.txt"][::every]
    t0 = time.time()
    load_start = os.getloadavg()[0]
    report = run_bench(problem, files, time_limit_s=time_limit, engine=engine, seed=seed)
    report["suite"] = name
    if peer and problem in PEER_PROBLEMS:
        bks = [r["bks"] for r in report["results"]]
        for result, alone in zip(
            report["results"], run_peer(problem, files, bks, time_limit, seed), strict=True
        ):
            result["pyvrp_alone"] = alone
    report["wall_clock_s"] = round(time.time() - t0, 1)
    report["every"] = every
    report["commit"] = _git_head()
    report["load_avg_1min"] = [round(load_start, 1), round(os.getloadavg()[0], 1)]
    report["n_instances_in_suite"] = len(expand_paths([folder], suffixes))
    report["machine"] = f"{platform.processor() or platform.machine()}, {platform.system()}"
    report["date_utc"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    out = RESULTS / f"{name}.json"
    write_json(report, out)
    return out


def _git_head() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "?"
    return out.stdout.strip() or "?"


def _fmt(x: Any, nd: int = 2) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "**NO**"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def _natural(name: str) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _table(report: dict[str, Any], waste: bool) -> list[str]:
    rows = sorted(report["results"], key=lambda r: _natural(r["instance"]))
    lines: list[str] = []
    if waste:
        lines += [
            "| instance | vehicles | miles | lunch placed | unserved | seconds | verified |"
            " Kim et al. 2006 (unverified) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            lunch = all(x is not None for x in r.get("lunch_starts_s", []))
            lines.append(
                f"| {r['instance']} | {r['vehicles']} | {_fmt(r['miles'])} | "
                f"{'yes' if lunch else 'NO'} | {r['unserved']} | {_fmt(r['seconds'], 1)} | "
                f"{_fmt(r['feasible'])} | {KIM_2006.get(r['instance'], '–')} |"
            )
        return lines
    peer = all("pyvrp_alone" in r for r in rows)
    head = "| instance | cost | BKS | gap % | vehicles | seconds | feasible (verified) |"
    rule = "|---|---|---|---|---|---|---|"
    if peer:
        head += " PyVRP alone cost | its gap % | its vehicles | verified |"
        rule += "---|---|---|---|"
    lines += [head, rule]
    for r in rows:
        line = (
            f"| {r['instance']} | {_fmt(r['cost'], 1)} | {_fmt(r['bks'], 1)} | "
            f"{_fmt(r['gap_pct'])} | {r.get('vehicles', '–')} | {_fmt(r['seconds'], 1)} | "
            f"{_fmt(r['feasible'])} |"
        )
        if peer:
            alone = r["pyvrp_alone"]
            line += (
                f" {_fmt(alone['cost'], 1)} | {_fmt(alone['gap_pct'])} | {alone['vehicles']} | "
                f"{_fmt(alone['feasible'])} |"
            )
        lines.append(line)
    gaps = [r["gap_pct"] for r in rows if r["gap_pct"] is not None]
    n_ok = sum(1 for r in rows if r["feasible"])
    if gaps:
        lines += [
            "",
            f"**{len(rows)} instances, {n_ok} feasible and verified; mean gap "
            f"{statistics.mean(gaps):.2f} %, max gap {max(gaps):.2f} %.**",
        ]
    if peer:
        lines += ["", _peer_summary(rows)]
    return lines


def _peer_summary(rows: list[dict[str, Any]]) -> str:
    """Ours against PyVRP alone, over the instances both solved (verified)."""
    both = [r for r in rows if r["feasible"] and r["pyvrp_alone"]["feasible"]]
    worse = [r["instance"] for r in both if r["cost"] > r["pyvrp_alone"]["cost"]]
    text = "PyVRP alone (single-threaded, its defaults, same time, run after ours): "
    text += f"{sum(1 for r in rows if r['pyvrp_alone']['feasible'])}/{len(rows)} verified"
    their = [r["pyvrp_alone"]["gap_pct"] for r in both if r["pyvrp_alone"]["gap_pct"] is not None]
    ours = [r["gap_pct"] for r in both if r["gap_pct"] is not None]
    if their and ours:
        text += (
            f"; on the {len(both)} both solved, mean gap ours {statistics.mean(ours):.2f} % "
            f"against {statistics.mean(their):.2f} %"
        )
    text += f"; ours costlier on {len(worse)}" + (f" ({', '.join(worse)})." if worse else ".")
    return text


def _earlier(report: dict[str, Any]) -> list[str]:
    """One paragraph summarising an earlier full run of the same suite (kept for the record)."""
    rows = report["results"]
    gaps = [r["gap_pct"] for r in rows if r["gap_pct"] is not None]
    worst = max(rows, key=lambda r: r["gap_pct"] if r["gap_pct"] is not None else -1)
    return [
        f"Earlier full run of this suite ({report.get('date_utc', '?')} UTC, routing code at "
        f"commit {report.get('commit', '?')}, same settings; "
        f"{report.get('load_avg_note', 'load not recorded')}): "
        f"{sum(1 for r in rows if r['feasible'])}/{len(rows)} feasible and verified, mean gap "
        f"{statistics.mean(gaps):.2f} %, max {max(gaps):.2f} % ({worst['instance']}). "
        f"Raw results: `benchmarks/results/{Path(str(report.get('problem', ''))).name}_run1.json`.",
        "",
    ]


def render() -> None:
    """Write the Markdown document from the saved JSON reports."""
    out = [
        "# Routing benchmarks",
        "",
        "Produced by `benchmarks/routing_tables.py` from the JSON reports in `benchmarks/results/`",
        "(the same code path as `sanitation bench ...`). Every solution was re-checked by the",
        "independent verifier `sanitation.verify.routing` (capacity between unloads, time windows,",
        "shift, lunch, access, empty at the end, every stop served, distances and costs",
        "recomputed);",
        "*feasible* means it passed with no stop left out. Gap = 100 (cost - BKS) / BKS.",
        "Single run, seed 1, on a shared 2-core machine (other jobs ran at the same time).",
        "",
    ]
    titles = {
        "cvrp": "CVRP: CVRPLIB X instances (rounded Euclidean, BKS from CVRPLIB)",
        "vrptw": "VRPTW: Solomon instances (distance objective, DIMACS one-decimal truncation)",
        "gh200": "VRPTW: Gehring-Homberger 200 customers (distance objective, DIMACS "
        "truncation; the folder's BKS are hierarchical, vehicles first, so no gap is shown)",
        "gh1000": "VRPTW: Gehring-Homberger 1000 customers (distance objective, DIMACS "
        "truncation, BKS from CVRPLIB)",
        "waste": "Waste collection with disposal trips: Kim et al. (2006)",
        "waste_generated": "Waste collection with disposal trips: generated family "
        "(synthetic, Kim et al. rules, binding disposal hours)",
    }
    for name in ("cvrp", "vrptw", "gh200", "gh1000", "waste", "waste_generated"):
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        report = json.loads(path.read_text(encoding="utf-8"))
        every = report.get("every", 1)
        n_run, n_all = len(report["results"]), report.get("n_instances_in_suite", "?")
        out += [f"## {titles[name]}", ""]
        out.append(
            f"Engine `{report['engine']}`, {report['time_limit_s']:g} s per instance, "
            f"{n_run} of {n_all} instances"
            + (f" (**every {every}th instance in file order, a subset**)" if every > 1 else "")
            + f", run {report.get('date_utc', '?')} UTC at commit {report.get('commit', '?')}, "
            + f"wall clock {report.get('wall_clock_s')} s"
            + (
                f", 1-min load average {report['load_avg_1min'][0]} at the start and "
                f"{report['load_avg_1min'][1]} at the end (2 cores)."
                if "load_avg_1min" in report
                else "."
            )
        )
        out.append("")
        cmd = (
            f"`.venv/bin/python benchmarks/routing_tables.py --suites {name} "
            f"--time-limit {report['time_limit_s']:g}"
            + (f" --every {every}" if every > 1 else "")
            + f" --engine {report['engine']}`"
        )
        out += [f"Command: {cmd}", ""]
        out += _table(report, waste=name in WASTE_SUITES)
        out.append("")
        earlier = RESULTS / f"{name}_run1.json"
        if earlier.exists():
            out += _earlier(json.loads(earlier.read_text(encoding="utf-8")))
        if name == "waste":
            out += [
                "Rules checked: time windows at stops, landfills and depot (shift), one-hour lunch",
                "starting 11:00-12:00, vehicle capacity between disposals, the daily volume per",
                "vehicle, at most 500 stops per vehicle, a disposal visit before returning to the",
                "depot. Manhattan distance at 40 mph, travel seconds rounded up; miles recomputed",
                "from the coordinates. Vehicles minimised first, then distance. No verified BKS",
                "exists for these instances (see the folder README); Kim et al.'s figures are",
                "shown only as a reference.",
                "",
            ]
        if name == "waste_generated":
            out += [
                "Synthetic instances (`sanitation.bench.waste.generate_kim`, seeds and sizes in",
                "`GENERATED_FAMILY`; files and how they were made in",
                "`benchmarks/instances/waste_generated/README.md`): the rules of the Kim files,",
                "landfills with staggered hours that all close before the depot (the last",
                "disposal of the day binds), unbounded fleet. Same checks as above; no reference",
                "solution exists.",
                "",
            ]
    scale = RESULTS / "scale.json"
    if scale.exists():
        s = json.loads(scale.read_text(encoding="utf-8"))
        out += [
            "## Scale check: one generated station with "
            f"{s['points']} points (`benchmarks/routing_scale.py`)",
            "",
            "Command: `.venv/bin/python benchmarks/routing_scale.py --points "
            f"{s['points']} --time-limit {s['time_limit_s']:g} --json "
            "benchmarks/results/scale.json`",
            "",
            f"Routing code at commit {s.get('commit', '?')}; engine `{s['engine']}`, "
            f"search limit {s['time_limit_s']:g} s: total "
            f"{s['total_s']} s (build {s['build_s']} s, solve {s['solve_s']} s, verify "
            f"{s['verify_s']} s); verified: {'yes' if s['verified'] else 'NO'}; "
            f"{s['routes']} routes, {s['unloads']} unloads, {s['unserved']} unserved, "
            f"{s['distance_km']} km, {s['cost_cny']} CNY.",
            "",
        ]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(out), encoding="utf-8")


def main() -> None:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--suites", default="cvrp,vrptw,waste")
    ap.add_argument(
        "--time-limit", type=float, default=None, help=f"default: {DEFAULT_TIME_LIMIT_S}"
    )
    ap.add_argument("--engine", default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--every", type=int, default=1, help="run every n-th instance only")
    ap.add_argument("--render-only", action="store_true")
    ap.add_argument(
        "--no-peer", action="store_true", help="skip PyVRP alone beside ours (cvrp, vrptw)"
    )
    args = ap.parse_args()
    if not args.render_only:
        for name in args.suites.split(","):
            limit = args.time_limit or DEFAULT_TIME_LIMIT_S[name]
            path = run_suite(name, limit, args.engine, args.seed, args.every, not args.no_peer)
            print(f"wrote {path}")
    render()
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
