"""A short text summary of a scenario (what ``sanitation validate`` prints)."""

from __future__ import annotations

from collections import Counter

from sanitation.scenario.model import Scenario


def summary_text(scenario: Scenario) -> str:
    """Counts, total waste (t/day), station capacity (t/day) and fleet, one fact a line."""
    stations = Counter(s.status for s in scenario.stations)
    capacity = sum(s.capacity_t_per_day for s in scenario.stations if s.status == "existing")
    candidate_capacity = sum(
        s.capacity_t_per_day for s in scenario.stations if s.status == "candidate"
    )
    types = {v.type_id: v for v in scenario.vehicle_types}
    fleet: Counter[str] = Counter()
    for entry in scenario.fleet:
        fleet[entry.type_id] += entry.count
    synthetic_points = sum(p.synthetic for p in scenario.points)
    synthetic_villages = sum(v.synthetic for v in scenario.villages)
    population = sum(v.population for v in scenario.villages)
    lines = [
        f"scenario: {scenario.name}  ({scenario.source_path})",
        f"date: {scenario.plan_date.isoformat()}",
        f"townships: {len(scenario.townships)}",
        f"villages: {len(scenario.villages)} (population {population:,}; "
        f"{synthetic_villages} with synthetic positions)",
        f"collection points: {len(scenario.points)} ({synthetic_points} synthetic)",
        f"waste: {scenario.total_waste_t_per_day:.1f} t/day before seasonal multipliers",
        f"transfer stations: {stations.get('existing', 0)} existing "
        f"({capacity:.0f} t/day), {stations.get('candidate', 0)} candidate "
        f"({candidate_capacity:.0f} t/day), {stations.get('closed', 0)} closed",
        "disposal sites: "
        + ", ".join(
            f"{d.name} [{d.kind}, {d.capacity_t_per_day:.0f} t/day, "
            f"{d.gate_fee_cny_per_t:.0f} CNY/t]"
            for d in scenario.disposal_sites
        ),
        f"depots: {len(scenario.depots)}",
        "fleet: "
        + ", ".join(
            f"{count} × {types[tid].name} ({types[tid].capacity_t:g} t)"
            for tid, count in sorted(fleet.items())
        ),
        f"roads: {scenario.roads.kind} {scenario.roads.path.name if scenario.roads.path else ''}"
        + (
            f", {len(scenario.roads.closed_road_ids)} closed"
            if scenario.roads.closed_road_ids
            else ""
        ),
    ]
    if scenario.seasonal_multipliers:
        lines.append(
            "seasonal multipliers: "
            + ", ".join(
                f"{s.name} ×{s.multiplier:g} {s.start}..{s.end}"
                for s in scenario.seasonal_multipliers
            )
        )
    if scenario.sorted:
        lines.extend(_stream_lines(scenario))
    return "\n".join(lines)


def _stream_lines(scenario: Scenario) -> list[str]:
    """Each sorted stream's t/day and how often it is collected; the facilities by kind."""
    tonnes: dict[str, float] = dict.fromkeys((s.stream_id for s in scenario.streams), 0.0)
    for point in scenario.points:
        for part in point.streams:
            tonnes[part.stream] += part.waste_t_per_day
    kinds = Counter(f.kind for f in scenario.facilities)
    return [
        "streams: "
        + ", ".join(
            f"{s.name_zh} {s.stream_id} {tonnes[s.stream_id]:.1f} t/day "
            f"({s.frequency or 'each point its own frequency'})"
            for s in scenario.streams
        ),
        "facilities: " + (", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "none"),
    ]
