"""Wall time and peak memory of the whole chain (`sanitation plan`), one JSON line per case.

Cases: the Wangjiang one-day plan, the Wangjiang week, and a generated 5,000-point county one-day
plan. Each case runs in a fresh Python process (so caches and memory start cold) that plans and
writes the full output folder; it reports wall seconds and the peak resident memory of itself
(``peak_rss_mb``) and of its largest worker process (``peak_worker_rss_mb``), from getrusage.

    python benchmarks/chain.py [--cases wangjiang_day,wangjiang_week,generated_5000]
        [--time-limit S] [--engine E]

Targets on the 2-core machine: Wangjiang day ≤ 60 s, Wangjiang week ≤ 300 s, generated 5,000
points ≤ 300 s with peak RSS ≤ 3 GB.
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
CASES = ("wangjiang_day", "wangjiang_week", "generated_5000")


class DescendantPeak(threading.Thread):
    """Samples the peak resident memory (VmHWM, MB) of this process's descendants from /proc.

    Worker processes of a forkserver pool are not our direct children, so getrusage cannot see
    them; every 0.2 s this walks /proc and keeps the largest VmHWM among our descendants.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(0.2):
            parents: dict[int, int] = {}
            peaks: dict[int, float] = {}
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    status = (entry / "status").read_text()
                except OSError:
                    continue
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                parents[int(entry.name)] = int(fields.get("PPid", "0").strip() or 0)
                if "VmHWM" in fields:
                    peaks[int(entry.name)] = int(fields["VmHWM"].split()[0]) / 1024
            for pid, peak in peaks.items():
                ancestor = parents.get(pid, 0)
                while ancestor not in (0, 1, me):
                    ancestor = parents.get(ancestor, 0)
                if ancestor == me and pid != me:
                    self.peak_mb = max(self.peak_mb, peak)


def run_case(case: str, time_limit_s: float, engine: str) -> dict[str, object]:
    """Plan one case in this process; return its measurements."""
    from sanitation.io.plan_folder import plan_to_folder
    from sanitation.plan.run import week_dates
    from sanitation.scenario import load_scenario
    from sanitation.scenario.generate import generate_county

    sampler = DescendantPeak()
    sampler.start()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        if case == "generated_5000":
            path = generate_county(Path(tmp) / "county", n_points=5000, n_stations=20, seed=1)
        else:
            path = WANGJIANG
        scenario = load_scenario(path)
        if case == "wangjiang_week":
            dates = week_dates(dt.date(2026, 11, 23))
        else:
            dates = [scenario.plan_date]
        document, written = plan_to_folder(
            scenario, dates, Path(tmp) / "out", engine=engine, time_limit_s=time_limit_s
        )
        seconds = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    county = next(k for k in document.kpis if k.scope == "county")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = max(sampler.peak_mb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return {
        "case": case,
        "points": len(scenario.points),
        "days": len(dates),
        "engine": engine,
        "time_limit_s": time_limit_s,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(own, 1),
        "peak_worker_rss_mb": round(workers, 1),
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
        default=30.0,
        help="routing budget of each plan (s); the week gets 7 times this",
    )
    parser.add_argument("--engine", default="portfolio")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case here
    args = parser.parse_args()
    if args.case:
        limit = args.time_limit * (7 if args.case == "wangjiang_week" else 1)
        print(json.dumps(run_case(args.case, limit, args.engine)), flush=True)
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
                "--time-limit",
                str(args.time_limit),
                "--engine",
                args.engine,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            print(json.dumps({"case": case, "error": result.stderr.strip().splitlines()[-1:]}))
            continue
        print(result.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
