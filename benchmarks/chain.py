"""Wall time and peak memory of the whole chain (`sanitation plan`), one JSON line per case.

Cases: the Wangjiang one-day plan, the Wangjiang week, the same two for the sorted what-if
(`scenarios/wangjiang/sorted.yaml`, four streams, issue 18), a generated 5,000-point county
one-day plan, and a generated 20,000-point county (40 stations) one day and one week. Each case runs
in a fresh Python process (so caches and memory start cold) that plans and writes the full
output folder; it reports wall seconds, the peak resident memory of itself (``peak_rss_mb``), of
its largest worker process (``peak_worker_rss_mb``), of all its processes together
(``peak_total_rss_mb``: the largest sum of VmRSS over the process and its descendants seen in
one sample, every 0.5 s), each process's own peak (``peak_rss_by_process_mb``, by role), and
when each stage of the plan ended (``stage_ends_s``, seconds from the start), and the CPU
seconds of the process and its descendants (``cpu_s``; a descendant's as last sampled). Each
case starts with an empty matrix cache, as a county's first plan does (``--warm-cache``: the
usual cache folder).

    python benchmarks/chain.py [--cases wangjiang_day,...,generated_20000_week]
        [--time-limit S] [--engine E] [--json FILE]

The routing budget is the case's (``LIMITS``: 30 s, the 20,000-point county 120 s; a week 7
times its day's) unless ``--time-limit`` gives one for every case. Targets on the 2-core
machine: Wangjiang day ≤ 60 s, Wangjiang week ≤ 300 s (sorted or not), generated 5,000
points ≤ 300 s with peak RSS ≤ 3 GB, generated 20,000 points one day ≤ 600 s with all
processes together ≤ 4 GB, and its week ≤ 1,800 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WANGJIANG = ROOT / "scenarios" / "wangjiang" / "baseline.yaml"
WANGJIANG_SORTED = ROOT / "scenarios" / "wangjiang" / "sorted.yaml"
#: routing budget (s) of each case's plan, for each of its days
LIMITS = {
    "wangjiang_day": 30.0,
    "wangjiang_week": 30.0,
    "wangjiang_sorted_day": 30.0,
    "wangjiang_sorted_week": 30.0,
    "generated_5000": 30.0,
    "generated_20000_day": 120.0,
    "generated_20000_week": 120.0,
}
CASES = tuple(LIMITS)
WEEKS = ("wangjiang_week", "wangjiang_sorted_week", "generated_20000_week")


class DescendantPeak(threading.Thread):
    """Samples the resident memory of this process and its descendants from /proc (MB).

    Worker processes of a forkserver pool are not our direct children, so getrusage cannot see
    them; every 0.5 s this walks /proc and keeps, per descendant, its peak (VmHWM) and, over all
    of them with this process, the largest sum of their current VmRSS.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0  # the largest descendant's peak
        self.total_mb = 0.0  # the largest sum over this process and its descendants
        self.by_process: dict[int, tuple[str, float]] = {}
        self.cpu_s: dict[int, float] = {}  # CPU seconds of each descendant, as last sampled
        self.stop = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(0.5):
            self.sample(me)

    def sample(self, me: int) -> None:
        parents: dict[int, int] = {}
        status: dict[int, dict[str, str]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                text = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            parents[int(entry.name)] = int(fields.get("PPid", "0").strip() or 0)
            status[int(entry.name)] = fields
        total = 0.0
        for pid, fields in status.items():
            ancestor = pid
            while ancestor not in (0, 1, me):
                ancestor = parents.get(ancestor, 0)
            if ancestor != me or "VmRSS" not in fields:
                continue
            total += int(fields["VmRSS"].split()[0]) / 1024
            if pid == me:
                continue
            peak = int(fields["VmHWM"].split()[0]) / 1024
            self.peak_mb = max(self.peak_mb, peak)
            self.cpu_s[pid] = max(self.cpu_s.get(pid, 0.0), _cpu_s(pid))
            role = _role(pid)
            self.by_process[pid] = (role, max(peak, self.by_process.get(pid, ("", 0.0))[1]))
        self.total_mb = max(self.total_mb, total)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _role(pid: int) -> str:
    """A short name of what a descendant process runs (its command line's telling part)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in args if a)
    for marker in ("forkserver", "resource_tracker", "spawn_main", "dask"):
        if marker in text:
            return marker
    return text[:40]


def run_case(case: str, time_limit_s: float, engine: str, *, warm_cache: bool) -> dict[str, object]:
    """Plan one case in this process; return its measurements."""
    from sanitation.io.plan_folder import plan_to_folder
    from sanitation.plan.run import week_dates
    from sanitation.scenario import load_scenario
    from sanitation.scenario.generate import generate_county

    sampler = DescendantPeak()
    sampler.start()
    stages: dict[str, float] = {}  # seconds from the start to the end of each stage

    def progress(stage: str, detail: str, done: int, total: int) -> None:
        stages[stage] = round(time.perf_counter() - started, 1)

    with tempfile.TemporaryDirectory() as tmp:
        if not warm_cache:  # matrices, networks and sitings computed afresh, as on a first plan
            os.environ["SANITATION_CACHE_DIR"] = str(Path(tmp) / "cache")
        started = time.perf_counter()
        if case == "generated_5000":
            path = generate_county(Path(tmp) / "county", n_points=5000, n_stations=20, seed=1)
        elif case.startswith("generated_20000"):
            path = generate_county(Path(tmp) / "county", n_points=20000, n_stations=40, seed=1)
        elif case.startswith("wangjiang_sorted"):
            path = WANGJIANG_SORTED
        else:
            path = WANGJIANG
        scenario = load_scenario(path)
        # the Wangjiang week from the Monday its earlier figures used, a generated one from its day
        first = dt.date(2026, 11, 23) if case.startswith("wangjiang") else scenario.plan_date
        dates = week_dates(first) if case in WEEKS else [scenario.plan_date]
        document, written = plan_to_folder(
            scenario,
            dates,
            Path(tmp) / "out",
            engine=engine,
            time_limit_s=time_limit_s,
            progress=progress,
        )
        seconds = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    county = next(k for k in document.kpis if k.scope == "county")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = usage.ru_utime + usage.ru_stime + sum(sampler.cpu_s.values())
    workers = max(sampler.peak_mb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    by_role: dict[str, list[float]] = {}
    for role, peak in sampler.by_process.values():
        by_role.setdefault(role, []).append(round(peak, 1))
    return {
        "case": case,
        "points": len(scenario.points),
        "days": len(dates),
        "engine": engine,
        "time_limit_s": time_limit_s,
        "seconds": round(seconds, 1),
        "cache": "warm" if warm_cache else "cold",
        "cpu_s": round(cpu_s, 1),
        "stage_ends_s": stages,
        "peak_rss_mb": round(own, 1),
        "peak_worker_rss_mb": round(workers, 1),
        "peak_total_rss_mb": round(max(sampler.total_mb, own), 1),
        "peak_rss_by_process_mb": {"planner": round(own, 1)}
        | {role: sorted(peaks, reverse=True) for role, peaks in sorted(by_role.items())},
        "routes": sum(len(d.routes) for d in document.days),
        "served": county.points_served,
        "unserved": county.points_unserved,
        "files": len(written),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument(
        "--time-limit",
        type=float,
        help="routing budget of every case's plan (s; default: the case's, see LIMITS); a week "
        "gets 7 times this",
    )
    parser.add_argument("--engine", default="portfolio")
    parser.add_argument("--json", type=Path, help="also append each JSON line to this file")
    parser.add_argument(
        "--warm-cache",
        action="store_true",
        help="use the matrix cache (SANITATION_CACHE_DIR or ~/.cache/sanitation) instead of "
        "a fresh one per case",
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case here
    args = parser.parse_args()
    if args.case:
        limit = args.time_limit or LIMITS[args.case]
        limit *= 7 if args.case in WEEKS else 1
        result = run_case(args.case, limit, args.engine, warm_cache=args.warm_cache)
        print(json.dumps(result), flush=True)
        return
    for case in args.cases.split(","):
        if case not in CASES:
            parser.error(f"unknown case {case!r}; expected {', '.join(CASES)}")
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--case",
                case,
                "--engine",
                args.engine,
                *(["--time-limit", str(args.time_limit)] if args.time_limit else []),
                *(["--warm-cache"] if args.warm_cache else []),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            line = json.dumps({"case": case, "error": result.stderr.strip().splitlines()[-1:]})
        else:
            line = result.stdout.strip().splitlines()[-1]
        print(line, flush=True)
        if args.json:
            with args.json.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")


if __name__ == "__main__":
    main()
