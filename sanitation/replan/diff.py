"""The diff of a re-plan against its old plan (``diff.json`` / ``diff.md``): stops moved between
trucks, ETA changes in minutes, trucks whose sheets changed, the share of stops left on their
truck, points no longer served, loads lost with a broken-down truck, and the transfer trips
added or removed with the stations' transfer kg; of a plan made under ``policy.consistency:
territory``, the stops now on another truck than their territory's (forced: that truck broke
down or is done for the day).

ETAs are service starts (``start_s``); a stop counts as *unchanged* when it stays on the truck
the old plan gave it (its ETA may still move); shares are over the stops the old plan had after
``t`` that are still served by someone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sanitation.plan.model import DayOut


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StopChange(_Model):
    """A point of the day whose truck or ETA changed."""

    point_id: str
    name: str
    old_vehicle: str | None
    new_vehicle: str | None = Field(description="None: no longer served (see unserved)")
    old_eta: str | None = Field(description="old service start HH:MM")
    new_eta: str | None
    eta_change_min: float | None = Field(description="new - old, minutes")
    moved: bool = Field(description="served by another truck than in the old plan")


class OffTerritoryStop(_Model):
    """A stop served by another truck than its territory's (定车), and why."""

    point_id: str
    name: str
    territory_truck: str
    truck: str
    reason: Literal["truck down", "truck not working after t"]


class TransferTripChange(_Model):
    """A transfer trip (station → disposal site) the re-plan added or removed (a trip whose
    load or times changed is both: the old one removed, the new one added)."""

    change: Literal["added", "removed"]
    truck_id: str
    station_id: str
    site_id: str
    load_kg: int
    start: str = Field(description="container hooked at the station, HH:MM")
    end: str = Field(description="empty container back at the station, HH:MM")


class StationTransferKg(_Model):
    """A station's kg for the transfer (moved by its trips + left unmoved), before and after."""

    station_id: str
    old_kg: int
    new_kg: int


class Diff(_Model):
    """What the re-plan changed (see the module docstring)."""

    base_plan: str = Field(description="the old plan's folder")
    base_created_at: str
    version: int = Field(description="1 for the first re-plan of a plan, then +1")
    at: str = Field(description="the re-plan time HH:MM")
    stations_replanned: list[str]
    stops_after_t: int = Field(description="stops the old plan had after t")
    stops_unchanged: int = Field(description="... still on their old truck")
    share_unchanged: float = Field(
        description="stops_unchanged / the stops after t still served (1.0 if none)"
    )
    share_unchanged_replanned: float = Field(
        description="the same share over the re-planned stations only (1.0 if none)"
    )
    stops_moved: int
    stops_new: int = Field(description="served now, not in the old plan after t")
    stops_dropped: int = Field(description="in the old plan after t, unserved now")
    changed_trucks: list[str] = Field(description="trucks whose sheets changed")
    max_eta_change_min: float
    cost_cny_old: float
    cost_cny_new: float
    lost_loads: list[str] = Field(description="loads lost with a broken-down truck, or towed")
    transfer_kg: list[StationTransferKg] = Field(
        default_factory=list, description="stations whose transfer kg changed"
    )
    transfer_changes: list[TransferTripChange] = Field(default_factory=list)
    transfer_cost_cny_old: float = 0.0
    transfer_cost_cny_new: float = Field(default=0.0, description="hook-lift trucks + gate fees")
    changes: list[StopChange]
    off_territory: list[OffTerritoryStop] = Field(
        default_factory=list,
        description="a plan under policy.consistency territory: stops not on their "
        "territory's truck",
    )
    notes: list[str]


def _hm(s: int | None) -> str | None:
    return None if s is None else f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def _stops(day: DayOut, after_s: int | None = None) -> dict[str, tuple[str, int, str]]:
    """Point id -> (vehicle, service start, name) of the day's stops (after ``after_s``)."""
    out = {}
    for r in day.routes:
        for v in r.visits:
            if v.kind == "stop" and (after_s is None or v.start_s >= after_s):
                out[v.id] = (r.vehicle_id, v.start_s, v.name)
    return out


def _sheet(route: Any) -> list[tuple[str, str, int]]:
    return [(v.kind, v.id, v.start_s) for v in route.visits]


def _trips(day: DayOut) -> set[tuple[str, str, str, int, int, int]]:
    return {
        (t.truck_id, t.station_id, t.site_id, t.load_kg, t.start_s, t.end_s)
        for truck in day.transfer_trucks
        for t in truck.trips
    }


def _transfer_kg(day: DayOut) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for truck in day.transfer_trucks:
        for t in truck.trips:
            out[t.station_id] += t.load_kg
    for u in day.unmoved:
        out[u.station_id] += u.load_kg
    return out


def transfer_diff(old: DayOut, new: DayOut) -> dict[str, Any]:
    """The transfer fields of the diff: stations whose kg changed, trips added and removed,
    transfer cost (trucks + gate fees) before and after."""
    before, after = _trips(old), _trips(new)
    changes = [
        TransferTripChange(
            change=change,
            truck_id=trip[0],
            station_id=trip[1],
            site_id=trip[2],
            load_kg=trip[3],
            start=_hm(trip[4]) or "",
            end=_hm(trip[5]) or "",
        )
        for change, trips in (("removed", before - after), ("added", after - before))
        for trip in sorted(trips, key=lambda t: (t[4], t[0]))
    ]
    old_kg, new_kg = _transfer_kg(old), _transfer_kg(new)
    return {
        "transfer_kg": [
            StationTransferKg(station_id=s, old_kg=old_kg.get(s, 0), new_kg=new_kg.get(s, 0))
            for s in sorted({*old_kg, *new_kg})
            if old_kg.get(s, 0) != new_kg.get(s, 0)
        ],
        "transfer_changes": changes,
        "transfer_cost_cny_old": round(old.transfer_cost_cny + old.gate_fees_cny, 2),
        "transfer_cost_cny_new": round(new.transfer_cost_cny + new.gate_fees_cny, 2),
    }


def day_diff(
    old: DayOut,
    new: DayOut,
    *,
    at_s: int,
    base_plan: str,
    base_created_at: str,
    version: int,
    stations: list[str],
    lost_loads: list[str],
    notes: list[str],
    territory_truck_of: Mapping[str, str] | None = None,
    down: Collection[str] = (),
) -> Diff:
    """The diff of ``new`` against ``old`` from ``at_s`` on; ``territory_truck_of`` (point →
    territory truck) and the trucks reported ``down`` give ``off_territory``."""
    before = _stops(old)
    after_t = _stops(old, at_s)
    now = _stops(new)
    changes: list[StopChange] = []
    for pid in sorted(set(before) | set(now)):
        o, n = before.get(pid), now.get(pid)
        if o is not None and n is not None and o[:2] == n[:2]:
            continue
        eta = None if o is None or n is None else round((n[1] - o[1]) / 60, 1)
        changes.append(
            StopChange(
                point_id=pid,
                name=(n or o)[2],  # type: ignore[index]
                old_vehicle=o[0] if o else None,
                new_vehicle=n[0] if n else None,
                old_eta=_hm(o[1]) if o else None,
                new_eta=_hm(n[1]) if n else None,
                eta_change_min=eta,
                moved=o is not None and n is not None and o[0] != n[0],
            )
        )
    served = [p for p in after_t if p in now]
    unchanged = sum(1 for p in served if now[p][0] == after_t[p][0])
    replanned = {v.id for r in old.routes if r.station_id in stations for v in r.visits}
    served_here = [p for p in served if p in replanned]
    unchanged_here = sum(1 for p in served_here if now[p][0] == after_t[p][0])
    old_sheets = {r.vehicle_id: _sheet(r) for r in old.routes}
    new_sheets = {r.vehicle_id: _sheet(r) for r in new.routes}
    changed = sorted(
        v for v in set(old_sheets) | set(new_sheets) if old_sheets.get(v) != new_sheets.get(v)
    )
    etas = [abs(c.eta_change_min) for c in changes if c.eta_change_min is not None]
    return Diff(
        base_plan=base_plan,
        base_created_at=base_created_at,
        version=version,
        at=_hm(at_s) or "",
        stations_replanned=stations,
        stops_after_t=len(after_t),
        stops_unchanged=unchanged,
        share_unchanged=round(unchanged / len(served), 4) if served else 1.0,
        share_unchanged_replanned=(
            round(unchanged_here / len(served_here), 4) if served_here else 1.0
        ),
        stops_moved=sum(c.moved for c in changes),
        stops_new=sum(1 for p in now if p not in before),
        stops_dropped=sum(1 for p in after_t if p not in now),
        changed_trucks=changed,
        max_eta_change_min=max(etas, default=0.0),
        cost_cny_old=round(sum(r.cost_cny for r in old.routes), 2),
        cost_cny_new=round(sum(r.cost_cny for r in new.routes), 2),
        lost_loads=lost_loads,
        **transfer_diff(old, new),
        changes=changes,
        off_territory=_off_territory(now, territory_truck_of or {}, down),
        notes=notes,
    )


def _off_territory(
    now: Mapping[str, tuple[str, int, str]], truck_of: Mapping[str, str], down: Collection[str]
) -> list[OffTerritoryStop]:
    return [
        OffTerritoryStop(
            point_id=pid,
            name=name,
            territory_truck=truck_of[pid],
            truck=vehicle,
            reason="truck down" if truck_of[pid] in down else "truck not working after t",
        )
        for pid, (vehicle, _, name) in sorted(now.items())
        if pid in truck_of and truck_of[pid] != vehicle
    ]


def write_diff(diff: Diff, folder: Path) -> list[Path]:
    """``diff.json`` and ``diff.md`` (UTF-8, Chinese names kept) in ``folder``."""
    json_path = folder / "diff.json"
    json_path.write_text(diff.model_dump_json(indent=1), encoding="utf-8")
    md_path = folder / "diff.md"
    md_path.write_text(diff_markdown(diff), encoding="utf-8")
    return [json_path, md_path]


def diff_markdown(diff: Diff) -> str:
    """The diff for people: a summary, then one table row per changed stop."""
    lines = [
        f"# Re-plan at {diff.at} (version {diff.version})",
        "",
        f"- base plan: {diff.base_plan} (made {diff.base_created_at})",
        f"- stations re-planned: {', '.join(diff.stations_replanned) or 'none'}",
        f"- stops after {diff.at}: {diff.stops_after_t}; on their old truck: "
        f"{diff.stops_unchanged} ({diff.share_unchanged:.0%}; "
        f"{diff.share_unchanged_replanned:.0%} at the re-planned stations); "
        f"moved: {diff.stops_moved}; "
        f"new: {diff.stops_new}; no longer served: {diff.stops_dropped}",
        f"- trucks with changed sheets: {', '.join(diff.changed_trucks) or 'none'}",
        f"- largest ETA change: {diff.max_eta_change_min:g} min",
        f"- route cost: {diff.cost_cny_old:,.2f} → {diff.cost_cny_new:,.2f} CNY",
    ]
    lines += [f"- {line}" for line in diff.lost_loads + diff.notes]
    lines += _transfer_markdown(diff)
    lines += _territory_markdown(diff)
    lines += [
        "",
        "| point | name | old truck | new truck | old ETA | new ETA | change (min) |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in diff.changes:
        change = "" if c.eta_change_min is None else f"{c.eta_change_min:+g}"
        lines.append(
            f"| {c.point_id} | {c.name} | {c.old_vehicle or '-'} | {c.new_vehicle or 'unserved'} "
            f"| {c.old_eta or '-'} | {c.new_eta or '-'} | {change} |"
        )
    return "\n".join(lines) + "\n"


def _transfer_markdown(diff: Diff) -> list[str]:
    """The transfer part of ``diff.md``: the stations' kg, then one row per trip changed."""
    if not diff.transfer_changes and not diff.transfer_kg:
        return ["- transfer trips: unchanged"]
    kg = ", ".join(f"{s.station_id} {s.old_kg} → {s.new_kg} kg" for s in diff.transfer_kg)
    lines = [
        f"- transfer: {kg or 'kg unchanged'}; cost {diff.transfer_cost_cny_old:,.2f} → "
        f"{diff.transfer_cost_cny_new:,.2f} CNY",
        "",
        "| transfer trip | truck | station | site | kg | hooked | back |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in diff.transfer_changes:
        lines.append(
            f"| {c.change} | {c.truck_id} | {c.station_id} | {c.site_id} | {c.load_kg} "
            f"| {c.start} | {c.end} |"
        )
    return lines


def _territory_markdown(diff: Diff) -> list[str]:
    """The stops off their territory's truck (none listed: every stop is on its own)."""
    if not diff.off_territory:
        return []
    lines = [
        f"- stops off their territory's truck: {len(diff.off_territory)}",
        "",
        "| point | name | territory's truck | truck now | why |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {c.point_id} | {c.name} | {c.territory_truck} | {c.truck} | {c.reason} |"
        for c in diff.off_territory
    ]
    return lines
