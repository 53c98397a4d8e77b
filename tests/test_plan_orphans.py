"""A ``kill -9`` of ``sanitation plan`` or a portfolio bench mid-solve leaves no process behind.

The pool's workers, its fork server and the resource tracker are tied to the process that made
the pool (`sanitation.lifeline`): the plan's pool, and the portfolio engine's own pool when it
runs without an executor. Each test starts the real command, kills it with SIGKILL once its
pool is running, and checks that every process it started is gone (issue 12).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.proc_helpers import alive, descendants, started_at

TINY = Path(__file__).parent / "data" / "scenario" / "tiny" / "scenario.yaml"
X101 = Path(__file__).parent / "data" / "routing" / "X-n101-k25.vrp"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")


@pytest.mark.parametrize(
    "arguments",
    [
        ["plan", str(TINY), "--time-limit", "20", "--out", "{tmp}/plan"],
        [
            "bench",
            "cvrp",
            str(X101),
            "--time-limit",
            "20",
            "--engine",
            "portfolio",
            "--json",
            "{tmp}/bench.json",
        ],
    ],
    ids=["plan", "portfolio-bench"],
)
def test_kill_9_leaves_no_pool_fork_server_or_tracker(tmp_path, arguments):
    command = [sys.executable, "-m", "sanitation"]
    command += [a.replace("{tmp}", str(tmp_path)) for a in arguments]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    plan = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group: nothing else of the test is hit
    )
    try:
        started: dict[int, str] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and plan.poll() is None:
            started.update(descendants(plan.pid))
            if len(started) >= 3:  # resource tracker, fork server and at least one worker
                time.sleep(1.0)  # mid-solve
                started.update(descendants(plan.pid))
                break
            time.sleep(0.1)
        assert plan.poll() is None, "the plan ended before its pool was seen"
        assert len(started) >= 3, f"pool not seen: {started}"
        os.kill(plan.pid, signal.SIGKILL)
        plan.wait()
        deadline = time.monotonic() + 5
        while alive(started) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = alive(started)
        assert not survivors, f"still running after kill -9 of the plan: {survivors}"
    finally:
        if plan.poll() is None:
            plan.kill()
        for pid in alive(started if "started" in dir() else {}):
            os.kill(pid, signal.SIGKILL)


def test_a_fork_server_whose_parent_died_before_it_looked_ends_at_once(tmp_path):
    """The race seen in the full suite: a job worker killed while its pool was starting."""
    report = tmp_path / "grandchild"
    code = (
        "import os, sys, time\n"
        "if os.fork():\n"
        "    os._exit(0)\n"  # the parent ends at once; the child is re-parented
        "time.sleep(0.5)\n"
        f"open({str(report)!r}, 'w').write(f'{{os.getpid()}} {{os.getppid()}}')\n"
        "from sanitation.lifeline import kill_self_with_parent\n"
        "kill_self_with_parent()\n"
        "time.sleep(30)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    deadline = time.monotonic() + 10
    while not report.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    pid, parent = (int(x) for x in report.read_text().split())
    if parent != 1:
        os.kill(pid, signal.SIGKILL)
        pytest.skip("re-parented to a subreaper, not init")
    watched = started_at(pid)
    deadline = time.monotonic() + 5
    while alive(watched) and time.monotonic() < deadline:
        time.sleep(0.05)
    survived = alive(watched)
    if survived:
        os.kill(pid, signal.SIGKILL)
    assert not survived, "the orphaned process kept waiting for a parent that had ended"
