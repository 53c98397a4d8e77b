"""The process table from /proc, for the tests that check that nothing outlives a kill -9."""

from __future__ import annotations

from pathlib import Path


def processes() -> dict[int, tuple[int, str, str]]:
    """Every process: pid → (parent pid, state, start time), from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), fields[0], fields[19])
    return table


def descendants(pid: int) -> dict[int, str]:
    """Descendants of ``pid``: pid → start time (to tell a reused pid apart)."""
    table = processes()
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, _, start) in table.items():
            if ppid == parent and child not in found:
                found[child] = start
                frontier.append(child)
    return found


def started_at(pid: int) -> dict[int, str]:
    """``{pid: start time}`` for one running process (empty if it has ended)."""
    entry = processes().get(pid)
    return {pid: entry[2]} if entry else {}


def alive(watched: dict[int, str]) -> list[int]:
    """The watched processes still running (zombies and reused pids do not count)."""
    table = processes()
    return [
        p
        for p, start in watched.items()
        if p in table and table[p][1] != "Z" and table[p][2] == start
    ]
