"""Draw the comparison figures of a results store (peak memory, latency, predicted vs measured,
cycles per op, memory timeline, scheme frontier, history over runs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinybench.bench.plots import save_all
from tinybench.bench.store import read_results
from tinybench.cli.output import print_json


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", type=Path, nargs="+", required=True,
                   help="results folders (tinybench matrix --out); several: oldest first, for the history")
    p.add_argument("--out", type=Path, required=True, help="folder for the figures")
    p.add_argument("--format", choices=["png", "svg", "pdf"], default="png")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    runs = [read_results(r) for r in args.results]
    written = save_all(runs, args.out, args.format)
    if args.json:
        print_json({"status": "ok", "figures": written})
    else:
        for name, where in written.items():
            print(f"{name:10s} {where}")
    return 0
