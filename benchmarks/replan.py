"""Re-plan speed and disruption (`sanitation replan`), one JSON object per run.

On the Wangjiang baseline day (planned first, or ``--plan DIR``): ``--per-kind`` seeded random
single events of each kind (truck_down, road_closed, urgent_point, extra_waste, position,
stop_done, stop_skipped) at random times from 09:00 to 14:00, each re-planned alone, plus one
county-wide flood closure (every road in a disc around the county's centre, as large as keeps
every station, depot and disposal site reachable; several stations). For each:
the wall seconds of the re-plan (state, context with the closures, station solves and the
re-plan verifier; not the output files), the share of stops left on their truck, and the cost
against a full re-plan from scratch with the same state (the routing engine alone on each
re-planned station's problem: no kept routes, no move penalty).

    python benchmarks/replan.py [--scenario YAML] [--plan DIR] [--per-kind 20] [--seed 1]
        [--time-limit 5] [--plan-time-limit 60] [--engine portfolio] [--from 09:00 --to 14:00]
        [--closure-hours H] [--json OUT]

``--closure-hours H`` gives every closure (the single ones and the flood) an end H hours after
it starts: timed closures, priced leg by leg (`sanitation.replan.closures`); without it (the
targets' runs) closures hold to the end of the day.

Targets on the 2-core machine: per event median <= 10 s, max <= 20 s; the flood <= 30 s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.run_meta import run_meta  # noqa: E402
from sanitation.engines import solve as solve_routing  # noqa: E402
from sanitation.errors import InfeasibleError  # noqa: E402
from sanitation.io.plan_folder import plan_to_folder  # noqa: E402
from sanitation.plan.context import PlanningContext  # noqa: E402
from sanitation.plan.model import PlanDocument, RouteOut  # noqa: E402
from sanitation.replan.diff import day_diff  # noqa: E402
from sanitation.replan.events import EventsFile, parse_hhmm  # noqa: E402
from sanitation.replan.run import read_plan, replan_day  # noqa: E402
from sanitation.routing.engine import SolveParams  # noqa: E402
from sanitation.scenario import load_scenario  # noqa: E402

WANGJIANG = ROOT / "scenarios" / "wangjiang" / "baseline.yaml"
KINDS = (
    "truck_down",
    "road_closed",
    "urgent_point",
    "extra_waste",
    "position",
    "stop_done",
    "stop_skipped",
)


def hm(s: int) -> str:
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def _active(routes: list[RouteOut], at_s: int) -> list[RouteOut]:
    """Routes with a stop still to come at ``at_s``."""
    return [r for r in routes if any(v.kind == "stop" and v.start_s >= at_s for v in r.visits)]


def random_event(
    kind: str,
    doc: PlanDocument,
    ctx: PlanningContext,
    rng: random.Random,
    window: tuple[int, int],
) -> tuple[dict[str, Any], int] | None:
    """One event of ``kind`` at a random minute of ``window`` fitting the plan (or None)."""
    at_s = rng.randrange(window[0], window[1], 60)
    day = doc.days[0]
    active = _active(day.routes, at_s)
    if not active and kind != "road_closed":
        return None
    time_s = at_s - rng.randrange(0, 600, 60)
    if kind in ("truck_down", "position", "stop_done", "stop_skipped"):
        route = rng.choice(active)
        later = [v for v in route.visits if v.kind == "stop" and v.start_s >= at_s]
        done = [v for v in route.visits if v.start_s < time_s]
        if kind == "truck_down":
            return {"type": kind, "vehicle": route.vehicle_id, "time": hm(time_s)}, at_s
        if kind == "position":
            where = done[-1] if done else later[0]
            load = min(done[-1].load_after_kg if done else 0, route.capacity_kg)
            return {
                "type": kind,
                "vehicle": route.vehicle_id,
                "time": hm(time_s),
                "lon": where.lon,
                "lat": where.lat,
                "load_kg": load,
            }, at_s
        stop = rng.choice(later)
        return {"type": kind, "point": stop.id, "time": hm(at_s)}, at_s
    if kind == "road_closed":
        roads = sorted(set(ctx.places.network.arrays.road_id.tolist()))
        return {"type": kind, "roads": [rng.choice(roads)], "from": hm(time_s)}, at_s
    route = rng.choice(active)
    stop = rng.choice([v for v in route.visits if v.kind == "stop" and v.start_s >= at_s])
    kg = rng.randrange(100, 1000, 50)
    if kind == "extra_waste":
        return {"type": kind, "point": stop.id, "kg": kg}, at_s
    deadline = min(at_s + 3 * 3600, 15 * 3600)
    return {"type": kind, "point": stop.id, "kg": kg, "deadline": hm(deadline)}, at_s


def flood(ctx: PlanningContext, fraction: float) -> dict[str, Any]:
    """A closure of every road in a disc around the points' centre, ``fraction`` of the way to
    the nearest station, depot or disposal site (so no site itself is under water)."""
    sc = ctx.scenario
    cx = statistics.median(p.lon for p in sc.points)
    cy = statistics.median(p.lat for p in sc.points)
    sites = [*sc.stations, *sc.depots, *sc.disposal_sites]
    nearest = min(math.hypot(s.lon - cx, s.lat - cy) for s in sites)
    r = fraction * nearest
    ring = [
        [cx + r * math.cos(2 * math.pi * k / 24), cy + r * math.sin(2 * math.pi * k / 24)]
        for k in range(24)
    ]
    area = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    return {"type": "road_closed", "area": area, "from": "10:00"}


def timed(event: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """A closure ending ``--closure-hours`` after it starts (any other event as it is)."""
    if event["type"] != "road_closed" or args.closure_hours <= 0:
        return event
    end_s = min(parse_hhmm(event["from"]) + round(args.closure_hours * 3600), 23 * 3600 + 59 * 60)
    return {**event, "until": hm(end_s)}


def run_one(
    doc: PlanDocument,
    scenario: Any,
    raw: dict[str, Any],
    at_s: int,
    args: argparse.Namespace,
    work: Path,
) -> dict[str, Any]:
    """Re-plan one event; time it; compare with the engine alone on the same problems."""
    events = list(EventsFile.model_validate({"events": [raw]}).events)
    path = work / "events.json"
    path.write_text(json.dumps({"events": [raw]}), encoding="utf-8")
    started = time.perf_counter()
    try:
        _, _, new_day, reps, _ = replan_day(
            doc,
            scenario,
            events,
            at_s,
            events_path=path,
            work_dir=work,
            engine=args.engine,
            time_limit_s=args.time_limit,
            seed=args.seed,
        )
    except InfeasibleError as error:  # e.g. a closure cutting a station off
        return {"event": raw, "at": hm(at_s), "infeasible": str(error)}
    seconds = time.perf_counter() - started
    diff = day_diff(
        doc.days[0],
        new_day,
        at_s=at_s,
        base_plan="",
        base_created_at="",
        version=1,
        stations=sorted(reps),
        lost_loads=[],
        notes=[],
    )
    replan_cost = scratch_cost = 0.0
    replan_unserved = scratch_unserved = 0
    # a group of stations (--help-from-neighbours) shares one re-plan: count it once
    for rep in {id(r): r for r in reps.values()}.values():
        replan_cost += rep.solution.cost_cny
        replan_unserved += len(rep.solution.unserved)
        if rep.problem.stops and rep.problem.vehicle_types:
            params = SolveParams(time_limit_s=args.time_limit + 2, work_s=args.time_limit)
            scratch = solve_routing(rep.problem, params, seed=args.seed, engine=args.engine)
            scratch_cost += scratch.cost_cny
            scratch_unserved += len(scratch.unserved)
    return {
        "event": raw,
        "at": hm(at_s),
        "seconds": round(seconds, 2),
        "stations": sorted(reps),
        "station_seconds": {s: round(r.seconds, 2) for s, r in reps.items()},
        "basis": {s: r.basis for s, r in reps.items()},
        "share_unchanged": diff.share_unchanged,
        "share_unchanged_replanned": diff.share_unchanged_replanned,
        "stops_moved": diff.stops_moved,
        "replan_route_cost_cny": round(replan_cost, 2),
        "scratch_route_cost_cny": round(scratch_cost, 2),
        "cost_increase_pct": round(100 * (replan_cost - scratch_cost) / scratch_cost, 2)
        if scratch_cost
        else 0.0,
        "replan_unserved": replan_unserved,
        "scratch_unserved": scratch_unserved,
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    infeasible = sum(1 for r in rows if "infeasible" in r)
    rows = [r for r in rows if "infeasible" not in r]
    secs = [r["seconds"] for r in rows]
    return {
        "n": len(rows),
        "infeasible": infeasible,
        "median_s": round(statistics.median(secs), 2) if secs else None,
        "max_s": max(secs, default=None),
        "mean_share_unchanged": round(statistics.mean(r["share_unchanged"] for r in rows), 4)
        if rows
        else None,
        "mean_share_unchanged_replanned": round(
            statistics.mean(r["share_unchanged_replanned"] for r in rows), 4
        )
        if rows
        else None,
        "mean_cost_increase_pct": round(statistics.mean(r["cost_increase_pct"] for r in rows), 2)
        if rows
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=WANGJIANG)
    parser.add_argument("--plan", type=Path, default=None, help="an existing one-day plan folder")
    parser.add_argument("--per-kind", type=int, default=20)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--time-limit", type=float, default=5.0, help="the re-plan's routing budget, s"
    )
    parser.add_argument("--plan-time-limit", type=float, default=60.0)
    parser.add_argument("--engine", default="portfolio")
    parser.add_argument("--from", dest="earliest", default="09:00", help="events from HH:MM")
    parser.add_argument("--to", dest="latest", default="14:00", help="events until HH:MM")
    parser.add_argument("--no-flood", action="store_true")
    parser.add_argument(
        "--closure-hours", type=float, default=0.0, help="closures end this many hours later"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    start, load = time.time(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plan_dir = args.plan
        if plan_dir is None:
            plan_dir = work / "plan"
            scenario = load_scenario(args.scenario)
            plan_to_folder(
                scenario,
                [scenario.plan_date],
                plan_dir,
                engine=args.engine,
                time_limit_s=args.plan_time_limit,
                seed=args.seed,
            )
        doc, scenario = read_plan(plan_dir)
        ctx = PlanningContext.build(scenario)
        rng = random.Random(args.seed)
        window = (parse_hhmm(args.earliest), parse_hhmm(args.latest))
        rows: list[dict[str, Any]] = []
        for kind in args.kinds.split(","):
            made = 0
            for _ in range(20 * args.per_kind):
                if made == args.per_kind:
                    break
                drawn = random_event(kind, doc, ctx, rng, window)
                if drawn is None:
                    continue
                row = run_one(doc, scenario, timed(drawn[0], args), drawn[1], args, work)
                rows.append(row)
                made += 1
                print(json.dumps(row, ensure_ascii=False), flush=True)
        flood_row = None
        if not args.no_flood:
            for fraction in (0.9, 0.6, 0.3):  # the largest disc the network survives
                flooded = timed(flood(ctx, fraction), args)
                flood_row = run_one(doc, scenario, flooded, 10 * 3600, args, work)
                if "infeasible" not in flood_row:
                    break
            print(json.dumps(flood_row, ensure_ascii=False), flush=True)
    report = {
        "meta": run_meta("replan", args.seed, start, load, engine=args.engine),
        "events": summary(rows),
        "by_kind": {
            k: summary([r for r in rows if r["event"]["type"] == k]) for k in args.kinds.split(",")
        },
        "flood": flood_row,
        "rows": rows,
    }
    print(json.dumps({k: report[k] for k in ("events", "by_kind")}, indent=1))
    if flood_row is not None:
        print(f"flood: {json.dumps(flood_row, ensure_ascii=False)[:300]}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
