"""A plan the project's own verifier rejects: exit 1 with a message naming the stage, where and
the truck, no traceback, nothing written (CLI); a failed job with that message (API)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
from pathlib import Path

import pytest

import sanitation.plan.run as plan_run
import sanitation.verify.routing as verify_routing
from api.worker import failure_of
from sanitation.errors import EXIT_INTERNAL, VerificationError, exit_code_for
from sanitation.plan.daily import StationDay, solve_station_day
from sanitation.routing.engine import SolveParams
from sanitation.transfer import TransferSolution
from tests.cli_helpers import run_cli
from tests.routing_helpers import twelve_points

TINY = Path(__file__).parent / "data" / "scenario" / "tiny" / "scenario.yaml"


def _late_first_trip(monkeypatch) -> list[str]:
    """Make the transfer scheduler return its first trip 60 s early (the real verifier catches
    it); returns the truck ids it tampered with."""
    real = plan_run.solve_transfer
    tampered: list[str] = []

    def solve_and_tamper(problem, *, seed: int = 1) -> TransferSolution:
        solution = real(problem, seed=seed)
        day = solution.trucks[0]
        trip = dataclasses.replace(day.trips[0], end_s=day.trips[0].end_s - 60)
        tampered.append(day.truck)
        day = dataclasses.replace(day, trips=(trip, *day.trips[1:]))
        return dataclasses.replace(solution, trucks=(day, *solution.trucks[1:]))

    monkeypatch.setattr(plan_run, "solve_transfer", solve_and_tamper)
    return tampered


def _no_traceback(result) -> None:
    assert not result.traceback, result.traceback
    assert "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize("earlier_output", [False, True], ids=["new-out", "earlier-out"])
def test_a_transfer_plan_the_verifier_rejects_exits_1_names_it_and_writes_nothing(
    tmp_path, monkeypatch, earlier_output
):
    tampered = _late_first_trip(monkeypatch)
    out = tmp_path / "plan"
    if earlier_output:
        out.mkdir()
        (out / "plan.json").write_text("{}", encoding="utf-8")
    args = ["plan", str(TINY), "--out", str(out), "--engine", "pyvrp", "--time-limit", "1"]
    result = run_cli(args, monkeypatch)
    _no_traceback(result)
    assert result.code == EXIT_INTERNAL, result.message
    (truck,) = tampered
    station = truck.split("/", 1)[0]
    err = result.stderr
    assert "internal error: the transfer stage's plan failed the independent verifier" in err
    assert "scenario 'tiny'; transfer trips on 2026-11-27" in err
    assert f"truck {truck!r} of station {station!r} trip 1 (station " in err
    assert "end_s" in err
    assert "nothing was written" in err
    # nothing written: no folder (or the earlier one as it was), no staging folder left over
    if earlier_output:
        assert [p.name for p in out.iterdir()] == ["plan.json"]
        assert (out / "plan.json").read_text(encoding="utf-8") == "{}"
    else:
        assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == (["plan"] if earlier_output else [])


def test_compare_whose_plan_the_verifier_rejects_exits_1_and_writes_nothing(tmp_path, monkeypatch):
    tampered = _late_first_trip(monkeypatch)
    out = tmp_path / "compare"
    args = ["compare", str(TINY), "--out", str(out), "--engine", "pyvrp", "--time-limit", "1"]
    result = run_cli(args, monkeypatch)
    _no_traceback(result)
    assert result.code == EXIT_INTERNAL, result.message
    assert "the transfer stage's plan failed the independent verifier" in result.stderr
    assert f"truck {tampered[0]!r}" in result.stderr
    assert "nothing was written" in result.stderr
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a staging folder


def test_a_routing_plan_the_verifier_rejects_names_its_station_and_day_across_processes(
    monkeypatch,
):
    real = verify_routing.verify

    def one_more(problem, solution) -> list[str]:
        return [*real(problem, solution), "route 0 (truck#0): forced by the test"]

    monkeypatch.setattr(verify_routing, "verify", one_more)
    day = dt.date(2026, 11, 27)
    task = StationDay(
        "S1", day, twelve_points(), "pyvrp", SolveParams(time_limit_s=1, work_s=1), seed=1
    )
    with pytest.raises(VerificationError) as info:
        solve_station_day(task)
    # the error crosses back from a worker process by pickle: its fields survive
    error = pickle.loads(pickle.dumps(info.value))
    assert error.stage == "routing"
    assert error.context == ("station 'S1' on 2026-11-27",)
    assert error.violations[-1] == "route 0 (truck#0): forced by the test"
    head, *rest = error.summary(shown=1)
    assert head.startswith("the routing stage's plan failed the independent verifier")
    assert "(station 'S1' on 2026-11-27)" in head
    assert rest[0] == f"  - {error.violations[0]}"
    assert exit_code_for(error) == EXIT_INTERNAL


def test_the_summary_shows_the_first_violations_and_counts_the_rest():
    error = VerificationError("x", [f"truck 'T{n}': late" for n in range(5)], stage="transfer")
    error.add_context("transfer trips on 2026-11-27")
    error.add_context("scenario 'county'")
    assert error.summary() == [
        "the transfer stage's plan failed the independent verifier (scenario 'county'; "
        "transfer trips on 2026-11-27): 5 violation(s)",
        "  - truck 'T0': late",
        "  - truck 'T1': late",
        "  - truck 'T2': late",
        "  - ... and 2 more",
    ]


def test_an_api_job_whose_plan_fails_verification_fails_with_the_message():
    error = VerificationError(
        "transfer plan violates 2 constraint(s): ...",
        ["truck 'ST-011/hooklift_8t#1' of station 'ST-011' trip 1 (station 'ST-011'): late", "b"],
        stage="transfer",
    )
    error.add_context("scenario 'county'")
    message, problems = failure_of(error)
    assert message == (
        "internal: the transfer stage's plan failed the independent verifier (scenario "
        "'county'): 2 violation(s): truck 'ST-011/hooklift_8t#1' of station 'ST-011' trip 1 "
        "(station 'ST-011'): late; nothing was written"
    )
    assert problems == error.violations
