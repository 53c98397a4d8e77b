"""The tiny scenario with territory settings, for the territory tests."""

from __future__ import annotations

import shutil
from pathlib import Path

TINY = Path(__file__).parent / "data" / "scenario" / "tiny"


def tiny_with_trucks(
    tmp_path: Path,
    trucks: dict[str, str],
    policy: str = "territory",
    *,
    territories: Path | None = None,
) -> Path:
    """A copy of the tiny scenario whose points have ``truck_id`` (point → truck), planned
    under ``policy.consistency: policy``, reading ``territories`` as its territory layer."""
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder, dirs_exist_ok=True)
    points = (TINY / "points.csv").read_text(encoding="utf-8").splitlines()
    lines = [points[0] + ",truck_id"]
    lines += [f"{line},{trucks.get(line.split(',')[0], '')}" for line in points[1:]]
    (folder / "points.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = (TINY / "scenario.yaml").read_text(encoding="utf-8")
    if territories is not None:
        text = text.replace(
            "  fleet: fleet.csv\n", f"  fleet: fleet.csv\n  territories: {territories}\n"
        )
    path = folder / "scenario.yaml"
    path.write_text(text + f"policy:\n  consistency: {policy}\n", encoding="utf-8")
    return path
