"""Compare a results folder with a baseline cell by cell; exit 1 when something regressed.

Deterministic figures (status, checksum, instructions, cycles, SRAM, flash, predictions) are
compared exactly or within their stated tolerance; host wall times are not gated (noise).
--update rewrites the baseline with the results, deliberately.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tinybench.bench.check import TOLERANCES, check, update_baseline
from tinybench.bench.store import read_results
from tinybench.cli.output import format_table, print_json


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("results", type=Path, help="a results folder (tinybench matrix --out)")
    p.add_argument("--baseline", type=Path, required=True, help="the baseline folder (results/baseline)")
    p.add_argument("--update", action="store_true", help="rewrite the baseline with these results")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    results = read_results(args.results)
    if args.update:
        update_baseline(results, args.baseline)
        print(f"baseline {args.baseline} rewritten with {len(results.cells)} cells of {args.results}")
        return 0
    baseline = read_results(args.baseline)
    report = check(results, baseline)
    problems = {**baseline.problems, **results.problems}
    failed = report.failed or bool(problems)
    if args.json:
        print_json({"status": "regression" if failed else "ok", "compared": report.compared,
                    "changes": [c.__dict__ for c in report.changes], "appeared": report.appeared,
                    "disappeared": report.disappeared, "problems": problems})
        return 1 if failed else 0
    if report.changes:
        print(format_table(["", "cell", "metric", "baseline", "now", "change"],
                           [c.row() for c in report.changes]))
    for label in report.appeared:
        print(f"new cell (not in the baseline): {label}")
    for label in report.disappeared:
        print(f"missing cell (in the baseline, not in the results): {label}")
    for path, why in problems.items():
        print(f"unreadable: {path}: {why}")
    exact = sorted(m for m, t in TOLERANCES.items() if t == 0)
    print(f"{report.compared} cells compared with {args.baseline}: {len(report.regressions)} regressions, "
          f"{len(report.changes) - len(report.regressions)} improvements, {len(report.appeared)} new, "
          f"{len(report.disappeared)} missing (exact: status, checksum, {', '.join(exact)}; predictions to 1e-9; "
          "wall times not gated)")
    return 1 if failed else 0
