"""The library's commands of the ``sanitation`` command line (contract in DESIGN.md; README).

`build_app` makes the Typer app with ``validate``, ``plan``, ``compare``, ``sweep``, ``demo``,
``generate``, ``bench`` and ``replan``; `run` runs an app and maps exceptions to the exit codes.
The ``sanitation`` console script is `api.cli.main`: this app plus the API's ``serve`` and
``keys`` (the library never imports the API). ``python -m sanitation`` runs the library's
commands alone.

Exit codes: 0 success, 1 internal error, 2 bad input (usage errors included), 3 infeasible.
Errors of kind 2 and 3 print a clear message and no traceback, and so does a plan the verifier
rejects (exit 1: stage, where, the first violations; nothing written); the mapping lives in
`sanitation.errors`.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import logging
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from geo.errors import GeoInputError
from sanitation.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    ClusterError,
    InfeasibleError,
    ScenarioError,
    VerificationError,
    exit_code_for,
)

if TYPE_CHECKING:
    from sanitation.plan.executor import ExecutorChoice

HELP = "Urban-rural sanitation logistics optimiser (户投放 → 村收集 → 乡镇转运 → 县外运处理)."
console = Console(stderr=True)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_SCENARIO = REPO_ROOT / "scenarios" / "wangjiang" / "baseline.yaml"


def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
) -> None:
    """Load and check a scenario; print its summary or every problem found."""
    from sanitation.plan.context import PlanningContext
    from sanitation.scenario import load_scenario, summary_text

    loaded = load_scenario(scenario)
    context = PlanningContext.build(loaded)
    network = context.places.network
    print(summary_text(loaded))
    print(f"road network: {network.number_of_nodes:,} nodes, {network.number_of_edges:,} edges")
    if context.cut_off:
        print(f"road closures cut off {len(context.cut_off)} point(s); a plan lists them unserved")
    for reason in context.lost_sites.values():
        print(f"road closures make a disposal site unusable: {reason}")


MAX_SEED = 2**31 - 1  # what every solver's seed accepts (OR-Tools: int32; numpy: >= 0)
Seed = Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Random seed (0 to 2^31-1).")]
Engine = Annotated[
    str, typer.Option(help="portfolio, pyvrp, ortools, pyvrp2 or pyvrp2-independent.")
]
MAX_TIME_LIMIT_S = 86_400.0  # a solve budget of at most a day


def _time_limit(value: float) -> float:
    """``--time-limit``: a finite number of seconds, at most `MAX_TIME_LIMIT_S` (NaN passes
    Click's own range check, so it is checked here)."""
    if not math.isfinite(value) or not 0 < value <= MAX_TIME_LIMIT_S:
        msg = f"value {value}; expected seconds, > 0 and <= {MAX_TIME_LIMIT_S:.0f}"
        raise typer.BadParameter(msg)
    return value


def _check_engine(engine: str) -> None:
    from sanitation.engines import ENGINES

    if engine not in ENGINES:
        msg = f"--engine: value {engine!r}; expected one of {', '.join(sorted(ENGINES))}"
        raise ScenarioError(msg)


ExecutorOption = Annotated[
    str | None,
    typer.Option(
        "--executor",
        help="local (a process pool of this machine; the default) or dask (a running cluster).",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="The Dask scheduler, tcp://HOST:PORT (default: $SANITATION_DASK_SCHEDULER).",
    ),
]


def _executor_choice(executor: str | None, scheduler: str | None) -> ExecutorChoice:
    from sanitation.plan.executor import ExecutorChoice

    return ExecutorChoice.from_options(executor, scheduler)


@contextmanager
def _open_executor(choice: ExecutorChoice, engine: str) -> Iterator[cf.Executor]:
    """The chosen executor for a command's solves (a scheduler that does not answer: exit 2,
    before anything is written)."""
    from sanitation.plan.executor import open_executor
    from sanitation.plan.run import routing_slots

    with open_executor(
        choice, portfolio=engine == "portfolio", workers=routing_slots(engine)
    ) as executor:
        yield executor


def _parse_date(option: str, text: str) -> dt.date:
    from sanitation.scenario.config import EARLIEST_DATE, LATEST_DATE

    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or not EARLIEST_DATE <= day <= LATEST_DATE:
        msg = (
            f"{option}: value {text!r}; expected a date YYYY-MM-DD from {EARLIEST_DATE} "
            f"to {LATEST_DATE}"
        )
        raise ScenarioError(msg)
    return day


class _StageProgress:
    """Rich progress bars, one per stage (CLI only)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, detail: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=max(total, 1))
        self.progress.update(
            self.tasks[stage],
            completed=done,
            total=max(total, 1),
            description=f"{stage:<10} {detail}"[:70],
        )


def _kpi_table(title: str, rows: list) -> Table:
    table = Table(title=title)
    for column in ("scope", "t", "served", "unserved", "trucks", "km", "hours", "CNY", "CO2 kg"):
        table.add_column(column, justify="right" if column != "scope" else "left")
    for row in rows:
        table.add_row(
            row.name if row.scope != "county" else "county",
            f"{row.collected_t:.1f}",
            str(row.points_served),
            str(row.points_unserved),
            str(row.trucks_used),
            f"{row.distance_km:.0f}",
            f"{row.driver_hours_h:.1f}",
            f"{row.total_cost_cny:,.0f}",
            f"{row.co2_kg:,.0f}",
        )
    return table


def plan(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Annotated[Path, typer.Option(help="Output folder (replaced when complete).")],
    date: Annotated[str | None, typer.Option(help="Plan one day (YYYY-MM-DD).")] = None,
    week: Annotated[str | None, typer.Option(help="Plan seven days from this date.")] = None,
    time_limit: Annotated[
        float,
        typer.Option("--time-limit", min=1, callback=_time_limit, help="Routing budget, seconds."),
    ] = 30.0,
    engine: Engine = "portfolio",
    seed: Seed = 1,
    executor: ExecutorOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Plan the chain for a day or a week and write plan.json, GeoJSON, GPKG, XLSX, KPIs, maps."""
    from sanitation.io.plan_folder import PLAN_MARKERS, check_out_folder, plan_to_folder
    from sanitation.plan.run import week_dates
    from sanitation.scenario import load_scenario

    if date and week:
        msg = "--date and --week: give one of them, not both"
        raise ScenarioError(msg)
    _check_engine(engine)
    choice = _executor_choice(executor, scheduler)
    out = check_out_folder(out, markers=PLAN_MARKERS)
    loaded = load_scenario(scenario)
    if week:
        dates = week_dates(_parse_date("--week", week))
    else:
        dates = [_parse_date("--date", date) if date else loaded.plan_date]
    with (
        _open_executor(choice, engine) as pool,
        Progress(console=console, transient=False) as progress,
    ):
        document, written = plan_to_folder(
            loaded,
            dates,
            out,
            engine=engine,
            time_limit_s=time_limit,
            seed=seed,
            progress=_StageProgress(progress),
            executor=pool,
        )
    rows = [k for k in document.kpis if k.scope in ("county", "station")]
    Console().print(_kpi_table(f"{loaded.name}: {dates[0]}..{dates[-1]}", rows))
    print(f"wrote {len(written)} files to {out}")


def compare(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files (first = base).")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    date: Annotated[str | None, typer.Option(help="Plan this day for every scenario.")] = None,
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit", min=1, callback=_time_limit, help="Routing budget per scenario, s."
        ),
    ] = 30.0,
    engine: Engine = "portfolio",
    seed: Seed = 1,
    executor: ExecutorOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Plan each scenario and write a side-by-side KPI table (markdown, CSV) and bar charts."""
    from sanitation.compare import compare_scenarios
    from sanitation.io.plan_folder import COMPARE_MARKERS, check_out_folder

    _check_engine(engine)
    choice = _executor_choice(executor, scheduler)
    day = _parse_date("--date", date) if date else None
    out = check_out_folder(out, markers=COMPARE_MARKERS)
    with (
        _open_executor(choice, engine) as pool,
        Progress(console=console, transient=False) as progress,
    ):
        table = compare_scenarios(
            scenarios,
            out,
            day=day,
            engine=engine,
            time_limit_s=time_limit,
            seed=seed,
            progress=_StageProgress(progress),
            executor=pool,
        )
    print(table)
    print(f"wrote the comparison and each plan to {out}")


def sweep(
    base: Annotated[Path, typer.Argument(help="Base scenario YAML file.")],
    grid: Annotated[Path, typer.Option(help="Grid YAML: override paths → lists of values.")],
    out: Annotated[Path, typer.Option(help="Output folder (replaced when complete).")],
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit", min=1, callback=_time_limit, help="Routing budget per combination, s."
        ),
    ] = 30.0,
    engine: Engine = "portfolio",
    seed: Seed = 1,
    executor: ExecutorOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Plan every combination of a grid of what-if overrides; write sweep.csv, sweep.md, a
    cost-against-unserved chart with the Pareto front, and each combination's overlay."""
    from sanitation.io.plan_folder import check_out_folder
    from sanitation.io.sweep import SWEEP_MARKERS
    from sanitation.sweep import run_sweep

    _check_engine(engine)
    choice = _executor_choice(executor, scheduler)
    out = check_out_folder(out, markers=SWEEP_MARKERS)
    with Progress(console=console, transient=False) as progress:
        outcome = run_sweep(
            base,
            grid,
            out,
            choice=choice,
            engine=engine,
            time_limit_s=time_limit,
            seed=seed,
            progress=_StageProgress(progress),
        )
    front = [r.name for r in outcome.rows if r.pareto]
    planned = sum(r.outcome == "planned" for r in outcome.rows)
    print(f"planned {planned} of {len(outcome.rows)} combinations in {outcome.seconds:.0f} s")
    print(f"Pareto front (cost against unserved points): {', '.join(front) or 'none'}")
    print(f"wrote sweep.csv, sweep.md, sweep.png and the overlays to {out}")
    failed = [r for r in outcome.rows if r.outcome == "failed verification"]
    if failed:
        for row in failed:
            sys.stderr.write(f"internal error: {row.name}: {row.reason}\n")
        raise typer.Exit(EXIT_INTERNAL)


def demo(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/demo"),
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit", min=1, callback=_time_limit, help="Routing budget per scenario, s."
        ),
    ] = 15.0,
    engine: Engine = "portfolio",
    executor: ExecutorOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Plan the bundled Wangjiang baseline and compare its four what-ifs."""
    from sanitation.demo import demo_scenarios, run_demo
    from sanitation.io.plan_folder import DEMO_MARKERS, check_out_folder

    _check_engine(engine)
    choice = _executor_choice(executor, scheduler)
    out = check_out_folder(out, markers=DEMO_MARKERS)
    with (
        _open_executor(choice, engine) as pool,
        Progress(console=console, transient=True) as progress,
    ):
        run_demo(
            demo_scenarios(DEMO_SCENARIO),
            out,
            console=Console(),
            time_limit_s=time_limit,
            engine=engine,
            progress=_StageProgress(progress),
            executor=pool,
        )


def generate(
    points: Annotated[int, typer.Option(min=1, max=20000, help="Number of collection points.")],
    stations: Annotated[int, typer.Option(min=1, help="Number of transfer stations.")],
    seed: Seed = 1,
    out: Annotated[Path, typer.Option(help="Output folder for the scenario.")] = Path(
        "out/generated"
    ),
) -> None:
    """Write a valid synthetic county scenario of any size (labelled synthetic)."""
    from sanitation.io.plan_folder import GENERATE_MARKERS, check_out_folder
    from sanitation.scenario.generate import generate_county

    out = check_out_folder(out, markers=GENERATE_MARKERS)
    path = generate_county(out, n_points=points, n_stations=stations, seed=seed)
    print(f"wrote {path}")


def bench(
    problem: Annotated[str, typer.Argument(help="cvrp, vrptw, cflp, sscflp, waste, lrp or mcvrp.")],
    paths: Annotated[list[Path], typer.Argument(help="Instance files or folders.")],
    time_limit: Annotated[
        float, typer.Option("--time-limit", callback=_time_limit, help="Seconds per instance.")
    ],
    json_out: Annotated[Path, typer.Option("--json", help="Where to write the JSON report.")],
    engine: Annotated[str | None, typer.Option(help="Solver engine.")] = None,
    seed: Seed = 1,
) -> None:
    """Run public benchmark instances; write the JSON report of the contract."""
    from sanitation.bench import check_json_out, run_bench, write_json

    json_out = check_json_out(json_out)
    for path in paths:
        if not path.exists():
            msg = f"{path}: no such file or folder (expected a benchmark instance)"
            raise ScenarioError(msg)
    report = run_bench(problem, paths, time_limit_s=time_limit, engine=engine, seed=seed)
    write_json(report, json_out)
    print(f"wrote {json_out} ({len(report['results'])} instances)")


def replan(
    plan_dir: Annotated[Path, typer.Argument(help="Plan folder (of `sanitation plan`).")],
    events: Annotated[Path, typer.Option(help="Events file (YAML or JSON).")],
    at: Annotated[str, typer.Option(help="Re-plan time HH:MM on the plan's date.")],
    out: Annotated[Path, typer.Option(help="Output folder of the new version (not PLAN_DIR).")],
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit",
            min=1,
            callback=_time_limit,
            help="Routing budget of the re-plan, s: shared by the re-planned stations in "
            "proportion to their stops still due (at least 1 s each), as plan shares its own.",
        ),
    ] = 5.0,
    engine: Engine = "portfolio",
    seed: Seed = 1,
    help_from_neighbours: Annotated[
        bool,
        typer.Option(
            "--help-from-neighbours",
            help="Let the trucks of each affected station's nearest station help.",
        ),
    ] = False,
    day: Annotated[
        str | None,
        typer.Option(
            help="The day of a plan of several days: its date YYYY-MM-DD or its number (1 = "
            "the first date); only that day changes."
        ),
    ] = None,
) -> None:
    """Re-plan a day from HH:MM with the trucks already out; write the new plan and its diff."""
    from sanitation.replan.events import parse_hhmm
    from sanitation.replan.run import replan_folder

    _check_engine(engine)
    try:
        at_s = parse_hhmm(at)
    except ValueError as error:
        raise ScenarioError(f"--at: {error}") from None
    if not events.is_file():
        msg = f"--events: {events}: no such file; expected a YAML or JSON events file"
        raise ScenarioError(msg)
    result = replan_folder(
        plan_dir,
        events,
        at_s,
        out,
        engine=engine,
        time_limit_s=time_limit,
        seed=seed,
        help_from_neighbours=help_from_neighbours,
        day=day,
    )
    diff = result.diff
    print(
        f"re-planned {', '.join(diff.stations_replanned) or 'no station'} at {diff.at}: "
        f"{diff.stops_moved} stop(s) moved, {diff.share_unchanged:.0%} on their truck, "
        f"{len(diff.changed_trucks)} truck sheet(s) changed"
    )
    print(f"wrote {len(result.written)} files to {result.written[0].parent}")


def build_app() -> typer.Typer:
    """A new Typer app with the library's commands (callers may add their own)."""
    app = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP)
    for command in (validate, plan, compare, sweep, demo, generate, bench, replan):
        app.command()(command)
    return app


def run(app: typer.Typer) -> None:
    """Run ``app`` and map exceptions to the exit codes of the contract (never returns)."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # files only, never a window
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(standalone_mode=False)
    except (ScenarioError, GeoInputError) as error:
        sys.stderr.write(f"error: {len(error.problems)} problem(s) in the input\n")
        for problem in error.problems:
            sys.stderr.write(f"  - {problem}\n")
        sys.exit(exit_code_for(error))
    except InfeasibleError as error:
        sys.stderr.write(f"infeasible: {error}\n")
        for cause in error.causes[1:]:
            sys.stderr.write(f"  - {cause}\n")
        sys.exit(exit_code_for(error))
    except VerificationError as error:
        _show_verification_error(error)
        sys.exit(exit_code_for(error))
    except ClusterError as error:
        sys.stderr.write(f"error: {error}; nothing was written\n")
        sys.exit(exit_code_for(error))
    except typer.Exit as stop:
        sys.exit(stop.exit_code)
    except typer.Abort:
        sys.exit(EXIT_INTERNAL)
    except typer.TyperException as error:  # usage errors (Typer's own click): bad input
        _show_usage_error(error)
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(EXIT_OK)


def _show_verification_error(error: VerificationError) -> None:
    """A plan the verifier rejected: where, the first violations, and that nothing was written
    (every command plans before it writes and swaps its output folder in whole)."""
    head, *details = error.summary()
    sys.stderr.write(f"internal error: {head}\n")
    for line in details:
        sys.stderr.write(f"{line}\n")
    sys.stderr.write(
        "nothing was written: the output folder is left as it was (no plan is better than an "
        "unverified one); please report this with the scenario and the command\n"
    )


def _show_usage_error(error: typer.TyperException) -> None:
    show = getattr(error, "show", None)  # every usage error of Typer's click has show()
    if callable(show):
        show()
    else:
        sys.stderr.write(f"error: {error.format_message()}\n")


def main() -> None:
    """Entry point of ``python -m sanitation``: the library's commands (no ``serve``/``keys``)."""
    run(build_app())
