"""Run a benchmark matrix (models x schemes x targets x emulators ...) on Dask and store every cell.

Axes come from a TOML spec (--spec, see results/paper.toml) or from comma-separated flags.
Each finished cell is written at once to --out; a run that is interrupted, or run again on
the same folder, runs only the cells that are missing (--resume, the default for the same
spec). A cell that fails is stored with its status and reason and the matrix goes on.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from tinybench.bench.matrix import AXES, MatrixSpec, load_spec, run_matrix
from tinybench.bench.store import read_results
from tinybench.cli.options import integer_in
from tinybench.cli.output import format_table, print_json
from tinybench.cli.results import summary_rows, SUMMARY_HEADERS


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=Path, help="TOML file of axes (results/paper.toml, results/ci.toml)")
    for axis in AXES:
        p.add_argument(f"--{axis}", help=f"comma-separated {axis}" + (" (published: the model's published "
                                                                      "schemes)" if axis == "schemes" else ""))
    p.add_argument("--out", type=Path, help="results folder (default results/generated/<run id>)")
    p.add_argument("--workers", type=integer_in(0), default=None,
                   help="local Dask worker processes (default: one per core; 0: run in this process)")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler (tcp://host:8786) to run on")
    p.add_argument("--predict-only", action="store_true", help="estimator only, no firmware (milliseconds a cell)")
    resume = p.add_mutually_exclusive_group()
    resume.add_argument("--resume", dest="resume", action="store_true", default=None,
                        help="run only the cells --out does not hold yet (default when it holds this spec)")
    resume.add_argument("--no-resume", dest="resume", action="store_false", help="refuse a folder with results")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _spec(args: argparse.Namespace) -> MatrixSpec:
    flags = {axis: [int(v) if axis == "steps" else v for v in getattr(args, axis).split(",")]
             for axis in AXES if getattr(args, axis)}
    if args.spec:
        spec = load_spec(args.spec)
        spec.axes.update(flags)
        return spec
    return MatrixSpec(flags)


def where_the_time_went(cells) -> str:
    """Cell-seconds per stage over the stored cells, and how many objects the build cache gave."""
    stages = [c for c in cells.columns if c.startswith("time_")]
    spent = ", ".join(f"{c[5:-2]} {cells[c].sum():.0f} s" for c in stages)
    cached, compiled = (cells[c].fillna(0).sum() if c in cells else 0
                        for c in ("build_objects_cached", "build_objects_compiled"))
    return (f"cell time (all workers): {spent or 'not recorded'}; build cache: {cached:.0f} of "
            f"{cached + compiled:.0f} objects reused")


def run(args: argparse.Namespace) -> int:
    spec = _spec(args)
    out = args.out or Path("results/generated") / time.strftime("%Y%m%dT%H%M%S")
    bar = tqdm(total=None, unit="cell", disable=args.json or not sys.stderr.isatty(), dynamic_ncols=True,
               mininterval=1.0)  # a log (CI) gets the summary only

    def progress(done: int, failed: int, remaining: int, slowest: str) -> None:
        bar.total = done + remaining
        bar.n = done
        bar.set_postfix_str(f"failed {failed}, remaining {remaining}" + (f", slowest: {slowest}" if slowest else ""))

    t0 = time.perf_counter()
    try:
        summary = run_matrix(spec, out, workers=args.workers, scheduler=args.scheduler,
                             predict_only=args.predict_only, resume=args.resume, progress=progress)
    finally:
        bar.close()
    results = read_results(out)
    wall = time.perf_counter() - t0
    if args.json:
        print_json({"status": "ok", "out": str(out), "cells": summary.cells, "ran": summary.ran,
                    "skipped": summary.skipped, "failed": summary.failed, "wall_s": wall,
                    "problems": results.problems})
    else:
        print(format_table(SUMMARY_HEADERS, summary_rows(results.cells)))
        print(f"{summary.cells} cells: {summary.ran} run ({summary.failed} failed), {summary.skipped} already "
              f"stored; {wall:.0f} s; results in {out}")
        if not args.predict_only and len(results.cells):
            print(where_the_time_went(results.cells))
        for path, why in results.problems.items():
            print(f"unreadable: {path}: {why}")
    return 1 if results.problems else 0
