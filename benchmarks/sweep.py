"""Wall time of a sweep, serial and on a local Dask cluster of two workers, in the same run.

The grid is `scenarios/wangjiang/sweep_grid.yaml` (16 combinations of the Wangjiang baseline:
compactors at two stations × candidate ST-C01 built or not × a waste factor) unless ``--grid``
names another. The base is planned once before timing, so that its network and travel matrices
sit in a warm cache; each run gets its own copy of it (neither pays for them, nor profits from
the other's cache entries). Then the sweep runs

1. serially: every combination planned one after the other in this process (1 worker);
2. on Dask: a `distributed.LocalCluster` of ``--workers`` worker processes (one thread each) on
   127.0.0.1, started here and closed at the end. Before timing, each worker plans the base
   once, as this process did before the serial phase: both phases then start with the
   planner imported and warm (a cluster's workers are long-lived; ``dask worker --preload
   sanitation.sweep`` starts one so).

It prints one JSON line (like the other benchmarks; ``--json`` also appends it to a file): both
wall times, the speed-up (target ≥ 1.7 with 2 workers on the 2-core machine), how many Dask
plans equal their serial twins (routes, unserved points, KPIs; a station-day the clock stopped
may differ, and is counted; ``mismatched_without_clock_stop`` must be empty) and the run's
metadata (`run_meta`). Each phase also records where the CPU went (``cpu``): this run's own
CPU seconds (this process; on Dask each worker's and this process's), the CPU seconds every
other process of the machine used meanwhile (``/proc/stat`` busy time less ours), and the cores
this run used on average. Linux's autogroup scheduler (``/proc/sys/kernel/sched_autogroup_enabled``
= 1) shares the CPUs between sessions before it looks at ``nice``: another session's work at
nice 19 still takes half of a 2-core machine from this run's session, so a Dask phase on a
machine that is not idle gets about one core for its two workers (docs/sweep.md).

    python benchmarks/sweep.py [--grid GRID] [--time-limit S] [--engine E] [--workers N]
        [--json benchmarks/results/sweep.jsonl] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "wangjiang" / "baseline.yaml"
GRID = ROOT / "scenarios" / "wangjiang" / "sweep_grid.yaml"
SPEEDUP_TARGET = 1.7

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_meta import run_meta  # noqa: E402


def _core(plan: dict) -> dict:
    """What a plan decides, less what measures time."""
    for day in plan["days"]:
        for station in day["stations"]:
            station.pop("solve_seconds", None)
    return {"days": plan["days"], "kpis": plan["kpis"], "fleet": plan["fleet"]}


def _differences(first: object, second: object, path: str = "", limit: int = 5) -> list[str]:
    """The paths (at most ``limit``) where two plan cores differ, with both values."""
    if isinstance(first, dict) and isinstance(second, dict):
        out: list[str] = []
        for key in sorted(set(first) | set(second)):
            out += _differences(first.get(key), second.get(key), f"{path}.{key}", limit - len(out))
            if len(out) >= limit:
                break
        return out
    if isinstance(first, list) and isinstance(second, list) and len(first) == len(second):
        out = []
        for index, (a, b) in enumerate(zip(first, second, strict=True)):
            out += _differences(a, b, f"{path}[{index}]", limit - len(out))
            if len(out) >= limit:
                break
        return out
    if first == second or limit <= 0:
        return []
    return [f"{path}: {str(first)[:80]} != {str(second)[:80]}"]


def _machine_busy_s() -> float:
    """CPU seconds every process of the machine has used since boot (``/proc/stat``: user,
    nice, system, irq, softirq, steal); 0 where there is no ``/proc/stat``."""
    try:
        fields = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    """CPU seconds of this process (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_report(wall_s: float, own_s: float, busy_s: float, **parts: object) -> dict:
    """A phase's CPU: ours, the rest of the machine's, and the cores we used on average."""
    return {
        "own_cpu_s": round(own_s, 1),
        "other_processes_cpu_s": round(max(0.0, busy_s - own_s), 1),
        "cores_used": round(own_s / wall_s, 2) if wall_s else None,
        **parts,
    }


def _autogroup() -> str | None:
    """``/proc/sys/kernel/sched_autogroup_enabled`` (None where absent)."""
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip()
    except OSError:
        return None


def _clock_stopped(plan: dict) -> int:
    """Notes saying the wall clock stopped a search before its work budget (a station-day's
    routing, or the assignment): there a re-run may differ."""
    return sum("time limit before its work budget" in note for note in plan["notes"])


def _warm_cache(cache: Path, args: argparse.Namespace) -> None:
    """Plan the base once (not timed), so that its network and travel matrices are in
    ``cache``."""
    os.environ["SANITATION_CACHE_DIR"] = str(cache)
    _plan_base(args.base, args.engine, args.time_limit, args.seed)


def _plan_base(base: Path, engine: str, time_limit_s: float, seed: int) -> None:
    """Plan the base in this process, as a sweep task plans a combination: the process then has
    the planner's modules imported (in a Dask worker too: `_dask_run` calls this on each)."""
    from sanitation.plan.run import plan_days
    from sanitation.scenario import load_scenario
    from sanitation.sweep import InProcessExecutor

    scenario = load_scenario(base)
    plan_days(
        scenario,
        [scenario.plan_date],
        engine=engine,
        time_limit_s=time_limit_s,
        seed=seed,
        executor=InProcessExecutor(),
        workers=1,
    )


def _run(label: str, args: argparse.Namespace, work: Path, warm: Path, choice: object) -> dict:
    from sanitation.sweep import run_sweep

    cache = work / f"cache-{label}"
    shutil.copytree(warm, cache)
    os.environ["SANITATION_CACHE_DIR"] = str(cache)
    started, own, busy = time.perf_counter(), _own_cpu_s(), _machine_busy_s()
    outcome = run_sweep(
        args.base,
        args.grid,
        work / label,
        choice=choice,  # type: ignore[arg-type]
        engine=args.engine,
        time_limit_s=args.time_limit,
        seed=args.seed,
    )
    wall = time.perf_counter() - started
    own = _own_cpu_s() - own
    cpu = _cpu_report(wall, own, _machine_busy_s() - busy)
    return {"wall_s": round(wall, 1), "rows": outcome.rows, "cpu": cpu}


def _dask_run(args: argparse.Namespace, work: Path, warm: Path) -> dict:
    import dask
    from distributed import Client, LocalCluster

    from sanitation.plan.executor import ExecutorChoice

    os.environ["SANITATION_CACHE_DIR"] = str(work / "cache-dask")  # the workers inherit it
    shutil.copytree(warm, work / "cache-dask")
    # the workers as docs/scaling.md advises for CPU-bound solves: no statistical profiler (it
    # samples the task thread's stack every 10 ms, about 4 % of a core, docs/sweep.md)
    settings = {"distributed.worker.daemon": False, "distributed.worker.profile.enabled": False}
    with dask.config.set(settings):
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )
    client = Client(cluster, set_as_default=False)
    try:
        choice = ExecutorChoice.from_options("dask", cluster.scheduler_address)
        from sanitation.sweep import run_sweep

        # each worker plans the base first (not timed), as the serial phase's process did
        client.run(_plan_base, args.base, args.engine, args.time_limit, args.seed)
        workers_before = client.run(_own_cpu_s)
        started, own, busy = time.perf_counter(), _own_cpu_s(), _machine_busy_s()

        outcome = run_sweep(
            args.base,
            args.grid,
            work / "dask",
            choice=choice,
            engine=args.engine,
            time_limit_s=args.time_limit,
            seed=args.seed,
        )
        wall = time.perf_counter() - started
        own, busy = _own_cpu_s() - own, _machine_busy_s() - busy
        workers_after = client.run(_own_cpu_s)
        per_worker = [workers_after[w] - workers_before.get(w, 0.0) for w in sorted(workers_after)]
        cpu = _cpu_report(
            wall,
            own + sum(per_worker),
            busy,
            main_process_cpu_s=round(own, 1),
            worker_cpu_s=[round(c, 1) for c in per_worker],
        )
        return {"wall_s": round(wall, 1), "rows": outcome.rows, "cpu": cpu}
    finally:
        client.close()
        cluster.close()


def _compare(work: Path, names: list[str]) -> dict:
    """Per combination: does the Dask plan equal its serial twin, and did the clock stop any
    of their station-days."""
    mismatched, clock, differences = [], {}, {}
    for name in names:
        plans = {
            run: json.loads((work / run / "plans" / f"{name}.json").read_text(encoding="utf-8"))
            for run in ("serial", "dask")
            if (work / run / "plans" / f"{name}.json").is_file()
        }
        if len(plans) < 2 or _core(plans["serial"]) != _core(plans["dask"]):
            mismatched.append(name)
            if len(plans) == 2:
                differences[name] = _differences(_core(plans["serial"]), _core(plans["dask"]))
        stopped = {run: _clock_stopped(plan) for run, plan in plans.items()}
        if any(stopped.values()):
            clock[name] = stopped
    return {
        "mismatched": mismatched,
        # a plan unlike its twin although the clock cut nothing in either: a determinism bug
        "mismatched_without_clock_stop": [name for name in mismatched if name not in clock],
        "clock_stopped_station_days": clock,
        "differences": differences,  # serial != dask: the first differing fields
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, default=BASE)
    parser.add_argument("--grid", type=Path, default=GRID)
    parser.add_argument("--time-limit", type=float, default=5.0, help="routing budget, s/plan")
    parser.add_argument("--engine", default="portfolio")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also append the JSON line to this file")
    parser.add_argument("--keep", type=Path, help="keep both sweep folders in this new folder")
    args = parser.parse_args()
    start, load = time.time(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        work = Path(tmp)
        if args.keep:
            args.keep.mkdir(parents=True)
            work = args.keep.resolve()
        warm = work / "cache-warm"
        _warm_cache(warm, args)
        serial = _run("serial", args, work, warm, None)
        dask_run = _dask_run(args, work, warm)
        names = [row.name for row in serial["rows"]]
        matches = _compare(work, names)
    speedup = serial["wall_s"] / dask_run["wall_s"] if dask_run["wall_s"] else None
    report = {
        "case": "sweep",
        "base": str(args.base.relative_to(ROOT) if args.base.is_relative_to(ROOT) else args.base),
        "grid": str(args.grid.relative_to(ROOT) if args.grid.is_relative_to(ROOT) else args.grid),
        "combinations": len(names),
        "engine": args.engine,
        "time_limit_s": args.time_limit,
        "dask_workers": args.workers,
        "serial_wall_s": serial["wall_s"],
        "dask_wall_s": dask_run["wall_s"],
        "speedup": None if speedup is None else round(speedup, 2),
        "speedup_target": SPEEDUP_TARGET,
        "planned": sum(r.outcome == "planned" for r in dask_run["rows"]),
        "plans_matching_serial": len(names) - len(matches["mismatched"]),
        **matches,
        "cpu": {"serial": serial["cpu"], "dask": dask_run["cpu"]},
        "meta": run_meta("sweep", args.seed, start, load, sched_autogroup_enabled=_autogroup()),
    }
    line = json.dumps(report, ensure_ascii=False)
    print(line, flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        with args.json.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


if __name__ == "__main__":
    main()
