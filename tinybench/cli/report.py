"""Write one self-contained HTML report of a results store (opens offline: figures inline)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinybench.bench.report import write_report
from tinybench.bench.store import read_results


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", type=Path, nargs="+", required=True,
                   help="results folders (tinybench matrix --out); several: oldest first, for the history")
    p.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    p.add_argument("--baseline", type=Path, help="show the regression check against this baseline")


def run(args: argparse.Namespace) -> int:
    runs = [read_results(r) for r in args.results]
    baseline = read_results(args.baseline) if args.baseline else None
    path = write_report(runs, args.out, baseline, args.baseline)
    cells = runs[-1].cells
    print(f"report of {len(cells)} cells written to {path}")
    return 0
