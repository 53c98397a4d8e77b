"""Assemble ``docs/benchmarks.md`` from the section files the benchmark scripts write.

    python benchmarks/benchmarks_doc.py

Sections (each produced by its own script, never edited by hand):
``docs/benchmarks_facility.md`` (`benchmarks/facility_tables.py`),
``docs/benchmarks_routing.md`` (`benchmarks/routing_tables.py`),
``docs/benchmarks_lrp.md`` (`benchmarks/lrp_tables.py`) and
``docs/benchmarks_system.md`` (this script, from the JSON lines that `benchmarks/matrix.py`,
`benchmarks/chain.py` and `benchmarks/api_load.py` saved in ``benchmarks/results/``).
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RESULTS = ROOT / "benchmarks" / "results"
SECTIONS = (
    "benchmarks_facility.md",
    "benchmarks_routing.md",
    "benchmarks_lrp.md",
    "benchmarks_system.md",
)


def _lines(name: str) -> list[dict]:
    path = RESULTS / name
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("{") and "\n{" not in text:
        return [json.loads(text)]
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def _flat(row: dict, prefix: str = "") -> dict:
    """Nested objects as ``outer.inner`` columns."""
    out: dict = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _table(rows: list[dict]) -> list[str]:
    if not rows:
        return ["(not measured yet)", ""]
    rows = [_flat(row) for row in rows]
    keys = list(dict.fromkeys(k for row in rows for k in row))
    out = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]

    def cell(value: object) -> str:
        if isinstance(value, list):
            return json.dumps(value, ensure_ascii=False).replace("|", "/")
        return "not measured" if value is None else str(value)

    out += ["| " + " | ".join(cell(row.get(k, "")) for k in keys) + " |" for row in rows]
    return [*out, ""]


def system_section() -> str:
    """Matrix, chain, API load and sweep measurements as markdown."""
    parts = [
        "## System benchmarks (travel matrices, the whole chain, the API under load)",
        "",
        "Produced by `benchmarks/benchmarks_doc.py` from `benchmarks/results/*.jsonl`. "
        "Single runs on the shared 2-core machine; the load average at the time is recorded.",
        "",
        "### Travel-time matrix: `python benchmarks/matrix.py`",
        "",
        "Targets: `seconds` ≤ 3, `preprocess_seconds` ≤ 60, `ratio` ≥ 20.",
        "",
        *_table(_lines("matrix.jsonl")),
        "### The chain: `python benchmarks/chain.py`",
        "",
        "Targets: Wangjiang day ≤ 60 s, Wangjiang week ≤ 300 s, generated 5,000-point county day "
        "≤ 300 s with peak RSS ≤ 3 GB, generated 20,000-point county day ≤ 600 s with all "
        "processes together ≤ 4 GB (`peak_total_rss_mb`) and its week ≤ 1,800 s.",
        "",
        *_table(_lines("chain.jsonl")),
        "### API under load: `python benchmarks/api_load.py`",
        "",
        "Target: p99 ≤ 100 ms, zero errors, 50 clients for 30 s while a plan job runs.",
        "",
        *_table(_lines("api_load.json")),
        "### API, two service processes on PostgreSQL: "
        "`bash .ci/with_services.sh .venv/bin/python benchmarks/api_load.py --processes 2`",
        "",
        "Targets: p99 ≤ 100 ms, zero errors, 50 clients for 30 s while two plan jobs run, each "
        "job executed once (`attempts` and `worker_starts` 1); then kill -9 of the process "
        "running a job: the job completes on the other within the heartbeat timeout plus its "
        "solve time, the stored rows the same before and after.",
        "",
        *_table(_lines("api_load_2proc.json")),
        "### Sweep: `python benchmarks/sweep.py`",
        "",
        "Target: speed-up ≥ 1.7 (16 combinations, a local Dask cluster of 2 workers against one "
        "after the other), every plan equal to its serial twin where no clock stopped it "
        "(`mismatched_without_clock_stop` empty).",
        "",
        *_table(_lines("sweep.jsonl")),
    ]
    return "\n".join(parts)


def main() -> None:
    (DOCS / "benchmarks_system.md").write_text(system_section(), encoding="utf-8")
    body = [
        "# Benchmarks",
        "",
        "Every table below is produced by a script from measured runs; nothing is typed in by "
        "hand. Instances come from `../shared/benchmarks/` (see each folder's README for the cost "
        "convention and the best-known solutions).",
        "",
    ]
    for name in SECTIONS:
        path = DOCS / name
        if path.is_file():
            body += [path.read_text(encoding="utf-8").strip(), ""]
    (DOCS / "benchmarks.md").write_text("\n".join(body), encoding="utf-8")
    print(f"wrote {DOCS / 'benchmarks.md'}")


if __name__ == "__main__":
    main()
