"""The executor setting (`sanitation.plan.executor`): local or Dask, chosen by option or
``SANITATION_DASK_SCHEDULER``; an unreachable scheduler is bad input; on the test cluster
(``.ci/with_services.sh``) a plan equals its local twin and survives a worker killed mid-solve."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli_helpers import run_cli
from test_determinism import _without_timings

from sanitation.errors import ClusterError, ScenarioError
from sanitation.plan import plan_days
from sanitation.plan.executor import (
    PROBE_TIMEOUT_S,
    SCHEDULER_ENV,
    DaskExecutor,
    ExecutorChoice,
    executor_width,
    open_executor,
)
from sanitation.scenario import load_scenario
from sanitation.scenario.generate import generate_county

TINY = Path(__file__).parent / "data" / "scenario" / "tiny" / "scenario.yaml"
TEST_SCHEDULER_ENV = "SANITATION_TEST_DASK_SCHEDULER"
DASK = Path(sys.executable).parent / "dask"


def scheduler_address() -> str:
    """The test cluster's scheduler (a test that needs it fails without it, never skips)."""
    address = os.environ.get(TEST_SCHEDULER_ENV)
    if not address:
        pytest.fail(
            f"{TEST_SCHEDULER_ENV} is not set: run this test through `make test` or "
            "`.ci/with_services.sh` (they start a Dask scheduler and two workers)"
        )
    return address


def closed_address() -> str:
    """A loopback address nothing listens on (a port just freed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


def test_the_choice_comes_from_the_options_then_the_environment(monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert ExecutorChoice.from_options(None, None) == ExecutorChoice("local")
    assert ExecutorChoice.from_options(None, "tcp://h:1") == ExecutorChoice("dask", "tcp://h:1")
    with pytest.raises(ScenarioError, match="--scheduler"):
        ExecutorChoice.from_options("dask", None)
    with pytest.raises(ScenarioError, match="--executor: value 'nope'"):
        ExecutorChoice.from_options("nope", None)
    monkeypatch.setenv(SCHEDULER_ENV, "tcp://env:2")
    assert ExecutorChoice.from_options(None, None) == ExecutorChoice("dask", "tcp://env:2")
    assert ExecutorChoice.from_options("dask", "tcp://h:1").scheduler == "tcp://h:1"
    assert ExecutorChoice.from_options("local", None) == ExecutorChoice("local")


@pytest.mark.parametrize("command", ["plan", "compare", "demo"])
def test_an_unreachable_scheduler_is_exit_2_naming_it_and_nothing_is_written(
    command, tmp_path, monkeypatch
):
    """Refused at once (the TCP probe, not the client's 10 s handshake timeout)."""
    address = closed_address()
    out = tmp_path / "out"
    args = [command, *([str(TINY)] if command != "demo" else []), "--out", str(out)]
    started = time.perf_counter()
    result = run_cli([*args, "--executor", "dask", "--scheduler", address], monkeypatch)
    assert time.perf_counter() - started < PROBE_TIMEOUT_S + 3
    assert result.code == 2, result.message
    assert address in result.stderr and "does not answer" in result.stderr
    assert not result.traceback
    assert not out.exists()


def test_the_environment_names_the_scheduler_and_a_bad_address_is_exit_2(tmp_path, monkeypatch):
    address = closed_address()
    monkeypatch.setenv(SCHEDULER_ENV, address)
    out = tmp_path / "plan"
    result = run_cli(["plan", str(TINY), "--out", str(out)], monkeypatch)
    assert result.code == 2 and address in result.stderr and SCHEDULER_ENV in result.stderr
    assert not out.exists()
    # an address that is no address: named, before any work
    bad = run_cli(
        ["plan", str(TINY), "--out", str(out), "--scheduler", "tcp://127.0.0.1:notaport"],
        monkeypatch,
    )
    assert bad.code == 2 and "'tcp://127.0.0.1:notaport'" in bad.stderr, bad.message
    assert not bad.traceback and not out.exists()


def test_the_dask_executor_runs_calls_on_the_cluster_and_passes_their_errors_back():
    with open_executor(
        ExecutorChoice("dask", scheduler_address()), portfolio=True, workers=1
    ) as executor:
        assert isinstance(executor, DaskExecutor)
        assert executor_width(executor) >= 2
        assert executor.submit(pow, 2, 10).result(timeout=30) == 1024
        assert executor.retried() == {}
        with pytest.raises(ZeroDivisionError):
            executor.submit(divmod, 1, 0).result(timeout=30)
        # a task that raised is not run again (its error is the solve's own, deterministic)
        assert executor.retried() == {}


def _scheduler_tasks(address: str, prefixes: tuple[str, ...]) -> int:
    """Tasks of these key prefixes the scheduler has finished so far (its transition log)."""
    from distributed import Client

    with Client(address, timeout=10, set_as_default=False) as client:
        return client.run_on_scheduler(
            lambda dask_scheduler: sum(
                1
                for entry in dask_scheduler.transition_log
                if entry[2] == "memory" and str(entry[0]).startswith(prefixes)
            )
        )


def test_the_same_seed_gives_the_same_plan_locally_and_on_dask(tmp_path, monkeypatch):
    """`sanitation plan` of a county with a station to choose (the route-aware siting) with the
    default engine, on the local pool and on the test cluster: the same plan, and the cluster
    ran the siting's and the portfolio's solves."""
    address = scheduler_address()
    path = generate_county(tmp_path / "county", n_points=24, n_stations=4, seed=7)
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    plans = {}
    before = _scheduler_tasks(address, ("solve-", "_solve_in_worker-"))
    for name, extra in (("local", []), ("dask", ["--executor", "dask", "--scheduler", address])):
        out = tmp_path / name
        # its own cache, so that the cluster's plan routes its siting too
        monkeypatch.setenv("SANITATION_CACHE_DIR", str(tmp_path / f"cache-{name}"))
        result = run_cli(
            ["plan", str(path), "--out", str(out), "--time-limit", "2", *extra], monkeypatch
        )
        assert result.code == 0, result.message
        plans[name] = json.loads((out / "plan.json").read_text("utf-8"))
    ran = _scheduler_tasks(address, ("solve-", "_solve_in_worker-")) - before
    assert plans["local"]["assignment"]["siting"]["mode"] == "routed"
    assert plans["local"]["engine"] == "portfolio"
    assert _without_timings(plans["local"]) == _without_timings(plans["dask"])
    stations = len(plans["dask"]["days"][0]["stations"])
    assert ran >= 2 * stations + plans["dask"]["assignment"]["siting"]["oracle_calls"], ran


class _Worker:
    """An extra `dask worker` of the test cluster (no nanny: its PID is the worker's)."""

    def __init__(self, address: str, name: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [
                str(DASK),
                "worker",
                address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                name,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def test_a_task_whose_worker_dies_too_often_is_a_cluster_error_naming_the_scheduler(tmp_path):
    """A scheduler that gives a task up at its first lost worker (the default allows 3), one
    worker, a task that kills it: a `ClusterError` naming the scheduler, not Dask's own."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    command = [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port)]
    scheduler = subprocess.Popen(
        [*command, "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    worker = None
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the scheduler listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        worker = _Worker(address, "doomed")
        with open_executor(ExecutorChoice("dask", address), portfolio=False, workers=1) as executor:
            executor.client.wait_for_workers(1, timeout=60)
            with pytest.raises(ClusterError, match=address) as lost:
                executor.submit(os._exit, 1).result(timeout=60)  # kills its worker
        assert "lost the solve task _exit-" in str(lost.value)
    finally:
        if worker is not None:
            worker.stop()
        scheduler.kill()
        scheduler.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_worker_killed_mid_solve_has_its_task_retried_and_the_plan_says_so(tmp_path):
    """A third worker joins the test cluster; as soon as it is running a station-day's solve it
    is killed with SIGKILL. The scheduler runs that task again on another worker, the plan
    completes (every route verified) and its notes say a task was run again."""
    from distributed import Client

    address = scheduler_address()
    path = generate_county(tmp_path / "county", n_points=48, n_stations=6, seed=5)
    path.write_text(path.read_text("utf-8") + "policy:\n  siting: estimate\n", "utf-8")
    scenario = load_scenario(path)
    victim = _Worker(address, f"victim-{os.getpid()}")
    outcome: dict[str, object] = {}
    try:
        with Client(address, timeout=10, set_as_default=False) as watcher:
            deadline = time.monotonic() + 60
            where = None
            while where is None:
                workers = watcher.scheduler_info(n_workers=-1)["workers"]
                where = next((a for a, w in workers.items() if w["name"] == victim.name), None)
                assert time.monotonic() < deadline, "the extra worker did not join"
                time.sleep(0.1)

            def plan() -> None:
                choice = ExecutorChoice("dask", address)
                try:
                    with open_executor(choice, portfolio=False, workers=1) as executor:
                        outcome["plan"] = plan_days(
                            scenario,
                            [scenario.plan_date],
                            engine="pyvrp",
                            time_limit_s=15,
                            executor=executor,
                        )
                except Exception as error:  # reported by the test below
                    outcome["error"] = error

            thread = threading.Thread(target=plan)
            thread.start()
            killed = None
            while thread.is_alive() and killed is None:
                running = watcher.processing(workers=[where]).get(where, [])
                solving = [k for k in running if str(k).startswith("solve_with_reference")]
                if solving:
                    victim.stop()
                    killed = solving[0]
                time.sleep(0.02)
            thread.join(timeout=120)
        assert killed is not None, "the extra worker never ran a solve before the plan ended"
        assert "error" not in outcome, outcome
        plan_document = outcome["plan"]
        notes = [n for n in plan_document.notes if "run again on another Dask worker" in n]
        assert notes, plan_document.notes
        (day,) = plan_document.days
        assert len(day.stations) >= 3 and all(s.points_served > 0 for s in day.stations)
    finally:
        victim.stop()


def test_a_lost_cluster_mid_plan_exits_1_with_its_message_and_writes_nothing(tmp_path, monkeypatch):
    """`ClusterError` (as `DaskExecutor` raises it for a lost task) from the middle of a plan:
    exit 1, the message, no traceback, no folder; an API job gets the same message."""
    import sanitation.plan.run as plan_run
    from api.worker import failure_of

    lost = ClusterError("the Dask cluster at tcp://127.0.0.1:1 lost the solve task t-1: gone")

    def cluster_gone(*args, **kwargs):
        raise lost

    monkeypatch.setattr(plan_run, "solve_transfer", cluster_gone)
    path = generate_county(tmp_path / "county", n_points=12, n_stations=2, seed=3)
    out = tmp_path / "plan"
    args = ["plan", str(path), "--out", str(out), "--engine", "pyvrp", "--time-limit", "1"]
    result = run_cli(args, monkeypatch)
    assert result.code == 1, result.message
    assert not result.traceback and "Traceback" not in result.stderr, result.stderr
    assert "lost the solve task t-1: gone; nothing was written" in result.stderr
    assert not out.exists()
    message, problems = failure_of(lost)
    assert message.endswith("lost the solve task t-1: gone; nothing was written")
    assert problems == [str(lost)]
