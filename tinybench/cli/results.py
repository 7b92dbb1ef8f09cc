"""Show a results folder written by `tinybench matrix`: one row per cell, as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from tinybench.bench.store import read_results
from tinybench.cli.output import format_table
from tinybench.errors import TinybenchError

SUMMARY_HEADERS = ["model", "scheme", "target", "emulator", "kernels", "status", "instructions", "predicted",
                   "error", "peak SRAM B", "reason"]


class QueryError(TinybenchError):
    """A --where expression pandas cannot evaluate on the cells table."""


def _value(v):
    """A table cell: "-" for a missing figure, integers without a fraction (Parquet keeps a
    column with gaps as floats)."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "-"
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _peak(r: dict):
    """Measured peak SRAM, else the prediction (a cell that does not fit has only that)."""
    measured = _value(r.get("measured_peak_sram_bytes"))
    return measured if measured != "-" else _value(r.get("predicted_peak_sram_bytes"))


def summary_rows(cells: pd.DataFrame) -> list[list]:
    rows = []
    order = [c for c in ("model", "scheme", "target", "emulator", "kernels", "schedule") if c in cells]
    for r in cells.sort_values(order).to_dict("records") if order else []:
        err = _value(r.get("error_instructions"))
        rows.append([r["model"], r["scheme"], r["target"], r["emulator"], r["kernels"], r["status"],
                     _value(r.get("measured_instructions")), _value(r.get("predicted_instructions")),
                     f"{100 * err:+.3f}%" if err != "-" else "-",
                     _peak(r),
                     str(r.get("reason") or "")[:60]])
    return rows


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("results", type=Path, help="a results folder (tinybench matrix --out)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--where", help="a pandas query on the cells, e.g. \"status != 'ok'\" or \"target == 'nrf52840'\"")


def run(args: argparse.Namespace) -> int:
    results = read_results(args.results)
    cells = results.cells
    if args.where and not cells.empty:
        try:
            cells = cells.query(args.where)
        except Exception as err:  # pandas raises many kinds for a bad expression
            raise QueryError(f"--where {args.where!r}: {type(err).__name__}: {err}") from None
    if args.format == "csv":
        cells.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(json.dumps({"provenance": results.provenance, "problems": results.problems,
                          "cells": json.loads(cells.to_json(orient="records"))}, indent=1))
    else:
        print(format_table(SUMMARY_HEADERS, summary_rows(cells)) if not cells.empty else "no cells")
    for path, why in results.problems.items():
        print(f"{args.results}: unreadable part {path}: {why}", file=sys.stderr)
    return 1 if results.problems else 0
