"""The ``sanitation`` command line (contract in DESIGN.md; documented in the README).

Exit codes: 0 success, 1 internal error, 2 bad input, 3 infeasible. Errors of kind 2 and 3
print a clear message and no traceback; the mapping lives in `sanitation.errors`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from geo.errors import GeoInputError
from sanitation.errors import EXIT_INTERNAL, InfeasibleError, ScenarioError, exit_code_for

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Urban-rural sanitation logistics optimiser (户投放 → 村收集 → 乡镇转运 → 县外运处理).",
)
console = Console(stderr=True)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_SCENARIO = REPO_ROOT / "scenarios" / "wangjiang" / "baseline.yaml"


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
) -> None:
    """Load and check a scenario; print its summary or every problem found."""
    from sanitation.scenario import load_scenario, summary_text
    from sanitation.scenario.network import build_network, check_network, snap_scenario

    loaded = load_scenario(scenario)
    network = build_network(loaded)
    check_network(loaded, snap_scenario(loaded, network))
    print(summary_text(loaded))
    print(f"road network: {network.number_of_nodes:,} nodes, {network.number_of_edges:,} edges")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/demo"),
) -> None:
    """Run the bundled Wangjiang scenario end to end."""
    from sanitation.demo import run_demo

    run_demo(DEMO_SCENARIO, out, console=console)


@app.command()
def generate(
    points: Annotated[int, typer.Option(min=1, max=20000, help="Number of collection points.")],
    stations: Annotated[int, typer.Option(min=1, help="Number of transfer stations.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    out: Annotated[Path, typer.Option(help="Output folder for the scenario.")] = Path(
        "out/generated"
    ),
) -> None:
    """Write a valid synthetic county scenario of any size (labelled synthetic)."""
    from sanitation.scenario.generate import generate_county

    path = generate_county(out, n_points=points, n_stations=stations, seed=seed)
    print(f"wrote {path}")


@app.command()
def bench(
    problem: Annotated[str, typer.Argument(help="cvrp, vrptw, cflp, sscflp or waste.")],
    paths: Annotated[list[Path], typer.Argument(help="Instance files or folders.")],
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds per instance.")],
    json_out: Annotated[Path, typer.Option("--json", help="Where to write the JSON report.")],
    engine: Annotated[str | None, typer.Option(help="Solver engine.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
) -> None:
    """Run public benchmark instances; write the JSON report of the contract."""
    from sanitation.bench import run_bench, write_json

    for path in paths:
        if not path.exists():
            msg = f"{path}: no such file or folder (expected a benchmark instance)"
            raise ScenarioError(msg)
    report = run_bench(problem, paths, time_limit_s=time_limit, engine=engine, seed=seed)
    write_json(report, json_out)
    print(f"wrote {json_out} ({len(report['results'])} instances)")


def main() -> None:
    """Entry point: run the app and map exceptions to the exit codes of the contract."""
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
    except typer.Exit as stop:
        sys.exit(stop.exit_code)
    except typer.Abort:
        sys.exit(EXIT_INTERNAL)
    except Exception as error:  # click usage errors and the rest
        import click

        if isinstance(error, click.ClickException):
            error.show()
            sys.exit(2)
        raise
