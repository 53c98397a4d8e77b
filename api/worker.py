"""The worker process of a plan job: plan the scenario (or re-plan a version's day: `api.replan`),
write progress and the result.

Runs in its own process group (so a cancel kills its solver processes too) and kills that
group when the service process that started it is gone (see `_watch_parent`). Expected
failures (bad input, infeasible, a plan the verifier rejects) finish the job as failed with the
problems; anything else ends the process, and the supervisor records the exit and the last line
of ``worker.log``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api.db import make_engine, session_factory
from api.job_state import finish, rows_changed, stored, worker_log
from api.models import JobRow, PlanRow, utcnow
from api.replan import diff_summary, replan_inputs
from api.settings import Settings
from geo.errors import GeoInputError
from sanitation.errors import ClusterError, InfeasibleError, ScenarioError, VerificationError
from sanitation.io.plan_folder import plan_to_folder
from sanitation.plan.executor import ExecutorChoice, SchedulerUnreachableError, open_executor
from sanitation.plan.model import PlanDocument
from sanitation.replan.events import parse_hhmm
from sanitation.scenario import load_scenario

logger = logging.getLogger("api.worker")

PROGRESS_EVERY_S = 0.5
WATCH_EVERY_S = 0.2


def _watch_parent(parent_pid: int, forkserver_pid: int) -> None:
    """Kill the worker's whole process group (itself, its solver pool, their forkserver and
    resource tracker) at once when the service process is gone: the service no longer answers
    ``kill(pid, 0)``, or the worker was re-parented because the forkserver between them died
    with the service. Nothing the worker started outlives it."""
    while True:
        time.sleep(WATCH_EVERY_S)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:
            pass
        if os.getppid() != forkserver_pid:
            break
    with contextlib.suppress(OSError):
        os.killpg(0, signal.SIGKILL)
    os._exit(70)


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    logger.critical("unexpected %s: %s", kind.__name__, value, exc_info=(kind, value, tb))
    sys.__excepthook__(kind, value, tb)


def _yield_to_requests(nice: int) -> None:
    """Run below the service's requests: ``nice`` added to this process (its solver processes
    inherit it) and to the autogroup of its new session, since Linux shares the CPU equally
    between sessions' autogroups whatever the nice values of their processes."""
    if nice == 0:
        return
    os.nice(nice)
    with contextlib.suppress(OSError):  # no autogroups (a kernel without them, a container)
        Path("/proc/self/autogroup").write_text(f"{nice}\n", encoding="ascii")


def run_job(
    url: str, data_dir: str, job_id: int, attempt: int, parent_pid: int, nice: int = 0
) -> None:
    """Entry point of a worker process (see the module docstring)."""
    os.setsid()
    _yield_to_requests(nice)
    os.environ.setdefault("MPLBACKEND", "Agg")
    watch = threading.Thread(target=_watch_parent, args=(parent_pid, os.getppid()), daemon=True)
    watch.start()
    settings = Settings(data_dir=Path(data_dir), database_url=url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions() as session:
        plan = stored(session, PlanRow, stored(session, JobRow, job_id).plan_id)
        planned_yaml = settings.data_dir / plan.planned_yaml
        out = settings.data_dir / plan.out_dir
        dates = [dt.date.fromisoformat(d) for d in plan.dates]
        engine_name, time_limit_s, seed = plan.engine, plan.time_limit_s, plan.seed
        parent = session.get(PlanRow, plan.parent_plan_id) if plan.parent_plan_id else None
        parent_dir = settings.data_dir / parent.out_dir if parent is not None else None
    log_path = worker_log(settings, plan.out_dir)
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    sys.excepthook = _excepthook
    logger.info("job %d attempt %d: plan %d (%s)", job_id, attempt, plan.id, plan.planned_yaml)

    last_s, last_stage = 0.0, ""
    data_root = str(settings.data_dir.resolve()) + "/"

    def progress(stage: str, detail: str, done: int, total: int) -> None:
        nonlocal last_s, last_stage
        now = time.monotonic()
        if stage == last_stage and now - last_s < PROGRESS_EVERY_S and done < total:
            return
        last_s, last_stage = now, stage
        with sessions() as session:
            mine = rows_changed(
                session,
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.attempts == attempt, JobRow.state == "running")
                .values(
                    stage=stage,
                    detail=detail.replace(data_root, "")[:500],
                    done=done,
                    total=total,
                    updated_at=utcnow(),
                ),
            )
            session.commit()
        if mine != 1:  # re-queued by another process (this one's was taken for dead): stop
            logger.warning("job %d attempt %d is no longer this worker's", job_id, attempt)
            with contextlib.suppress(OSError):
                os.killpg(0, signal.SIGKILL)
            os._exit(75)
        logger.info("%s %s (%d/%d)", stage, detail, done, total)

    root = str((settings.data_dir / "scenarios").resolve()) + "/"
    try:
        scenario = load_scenario(planned_yaml)
        # SANITATION_DASK_SCHEDULER set: the solves run on that cluster; else here (None: the
        # plan's own local pools)
        choice = ExecutorChoice.from_options(None, None)
        with contextlib.ExitStack() as stack:
            executor = None
            if choice.kind == "dask":
                executor = stack.enter_context(
                    open_executor(choice, portfolio=engine_name == "portfolio", workers=1)
                )
            if parent_dir is not None:
                progress("replan", f"re-planning version {plan.version}", 0, 1)
                document = _replan(settings, plan, parent_dir, out)
            else:
                document, _ = plan_to_folder(
                    scenario,
                    dates,
                    out,
                    engine=engine_name,
                    time_limit_s=time_limit_s,
                    seed=seed,
                    progress=progress,
                    executor=executor,
                )
    except SchedulerUnreachableError as error:
        message = f"the solver cluster is unreachable: {error}; nothing was written"
        _finish(sessions, job_id, attempt, "failed", message, [str(error)])
    except (
        ScenarioError,
        GeoInputError,
        InfeasibleError,
        VerificationError,
        ClusterError,
    ) as error:
        message, problems = failure_of(error, root)
        _finish(sessions, job_id, attempt, "failed", message, problems)
    else:
        county = next(k for k in document.kpis if k.scope == "county")
        with sessions() as session:
            finished = finish(
                session, job_id, attempt, "done", county_kpis=county.model_dump(mode="json")
            )
            if finished and parent_dir is not None:
                diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
                session.execute(
                    update(PlanRow)
                    .where(PlanRow.id == plan.id)
                    .values(diff_summary=diff_summary(diff))
                )
                session.commit()
        logger.info("job %d done", job_id)
    engine.dispose()


def _replan(settings: Settings, plan: PlanRow, parent_dir: Path, out: Path) -> PlanDocument:
    """Re-plan the parent version's folder into ``out`` (see `api.replan`)."""
    from sanitation.replan.run import replan_folder

    events_path, options = replan_inputs(settings, plan)
    result = replan_folder(
        parent_dir,
        events_path,
        parse_hhmm(options["at"]),
        out,
        engine=plan.engine,
        time_limit_s=plan.time_limit_s,
        seed=plan.seed,
        help_from_neighbours=bool(options["help_from_neighbours"]),
        day=options.get("day"),
    )
    return result.document


def failure_of(error: Exception, root: str = "") -> tuple[str, list[str]]:
    """A failed job's error and problems for an expected failure: bad input (paths under
    ``root`` shortened), infeasible, or a plan the verifier rejected (stage, where, the first
    violation; nothing is written)."""
    if isinstance(error, ScenarioError | GeoInputError):
        problems = [p.replace(root, "") for p in error.problems]
        return f"bad input: {problems[0]}", problems
    if isinstance(error, InfeasibleError):
        return f"infeasible: {error}", error.causes
    if isinstance(error, VerificationError):
        head = error.summary(shown=0)[0]
        return f"internal: {head}: {error.violations[0]}; nothing was written", error.violations
    if isinstance(error, ClusterError):
        return f"internal: {error}; nothing was written", [str(error)]
    msg = f"not an expected failure of a plan job: {type(error).__name__}"
    raise TypeError(msg) from error


def _finish(
    sessions: sessionmaker[Session],
    job_id: int,
    attempt: int,
    state: str,
    error: str,
    problems: Sequence[str],
) -> None:
    logger.warning("job %d %s: %s", job_id, state, error)
    with sessions() as session:
        finish(session, job_id, attempt, state, error=error[:2000], problems=list(problems))
