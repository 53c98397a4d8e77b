"""The metadata every benchmark table records beside its results (when, where, under what load)."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from typing import Any


def run_meta(suite: str, seed: int, start: float, load: float, **extra: Any) -> dict[str, Any]:
    """Suite, seed, UTC start, wall seconds since ``start``, CPUs, the 1-minute load average at
    the start (``load``), ``uptime`` at the end, the Python version and ``extra``."""
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    return {
        "suite": suite,
        "seed": seed,
        "started_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime(start)),
        "wall_s": round(time.time() - start, 1),
        "cpus": os.cpu_count(),
        "load_average_at_start": round(load, 2),
        "uptime_at_end": uptime.strip(),
        "python": platform.python_version(),
        **extra,
    }
