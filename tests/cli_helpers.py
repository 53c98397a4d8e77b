"""Run the ``sanitation`` command line in-process (fast; no subprocess per case)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import traceback
from dataclasses import dataclass

from sanitation.cli import build_app, run


@dataclass(frozen=True)
class CliResult:
    """Exit code, output and whether a traceback escaped (``code`` None for an escape)."""

    code: int | None
    stdout: str
    stderr: str
    traceback: str

    @property
    def message(self) -> str:
        """What the user saw on stderr (and the traceback, if one escaped)."""
        return self.stderr + self.traceback


def run_cli(args: list[str], monkeypatch) -> CliResult:
    """``sanitation ARGS`` through `sanitation.cli.run`, as the console script runs it."""
    monkeypatch.setattr(sys, "argv", ["sanitation", *args])
    # `run` sets MPLBACKEND=Agg for itself; keep it from leaking into later tests' processes
    monkeypatch.setenv("MPLBACKEND", os.environ.get("MPLBACKEND", "Agg"))
    out, err = io.StringIO(), io.StringIO()
    code: int | None = None
    escaped = ""
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            run(build_app())
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except Exception:  # the test reports any escape as a traceback
            escaped = traceback.format_exc()
    return CliResult(code, out.getvalue(), err.getvalue(), escaped)
