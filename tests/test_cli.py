"""The command line's entry points, commands and usage errors (exit 2, no traceback)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from api.cli import build_app as console_app
from sanitation.cli import build_app as library_app

CONTRACT = {
    "validate",
    "plan",
    "compare",
    "sweep",
    "demo",
    "generate",
    "bench",
    "replan",
    "serve",
    "keys",
    "db",
}


def _names(app) -> set[str]:
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    return commands | {g.name for g in app.registered_groups}


def test_console_script_has_every_command_of_the_contract():
    assert _names(console_app()) == CONTRACT
    assert _names(library_app()) == CONTRACT - {"serve", "keys", "db"}


@pytest.mark.parametrize(
    ("module", "args", "expected"),
    [
        ("api", ["plan"], "Missing argument 'scenario'"),
        ("api", ["keys", "create"], "Missing option '--role'"),
        ("api", ["serve", "--port", "0"], "Invalid value for '--port'"),
        ("api", ["nope"], "No such command 'nope'"),
        ("sanitation", ["serve"], "No such command 'serve'"),
    ],
)
def test_usage_errors_exit_2_without_traceback(module, args, expected):
    done = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def test_the_library_command_line_never_loads_the_api():
    code = (
        "import sys, sanitation.cli\nsys.exit(any(m.split('.')[0] == 'api' for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
