"""Write the seeded multi-compartment family that ``sanitation bench mcvrp`` solves.

No public multi-compartment VRP set with best-known solutions is available offline here, so the
family is generated (`sanitation.bench.mcvrp.generate`; the ranges and the truck are documented
there and in ``docs/streams.md``, all assumed):

    .venv/bin/python benchmarks/mcvrp_generate.py --out benchmarks/instances/mcvrp
    .venv/bin/sanitation bench mcvrp benchmarks/instances/mcvrp --time-limit 30 \\
        --json out/mcvrp.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sanitation.bench.mcvrp import write_family


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the instance files")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 40, 80])
    parser.add_argument("--streams", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for path in write_family(args.out, tuple(args.sizes), tuple(args.streams), args.seed):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
