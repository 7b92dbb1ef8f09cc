"""Peak SRAM of the 15 published schemes, both schedules, next to the paper's figures."""

from __future__ import annotations

import argparse

from tinybench.cli.output import format_table, print_json
from tinybench.graph.schemes import published_schemes
from tinybench.graph.training import GradPrecision, Schedule
from tinybench.cli.estimate import estimate
from tinybench.plan.planners import DEFAULT_PLANNER, PLANNERS

#: "Sparse update + operator reordering" and "full update" peak memory, KB (REFERENCE.md).
PAPER_REORDERED_KB = {"mbv2-w0.35": 141, "proxyless-w0.3": 135, "mcunet-5fps": 173}
PAPER_FULL_KB = {"mbv2-w0.35": 2939, "proxyless-w0.3": 2745, "mcunet-5fps": 3650}


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--planner", choices=list(PLANNERS), default=DEFAULT_PLANNER)
    p.add_argument("--grad-precision", choices=[g.value for g in GradPrecision], default=GradPrecision.INT8.value)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    rows = []
    for s in published_schemes():
        r = {sched.value: estimate(s.model, s.label, sched.value, args.planner, args.grad_precision)
             for sched in Schedule}
        rows.append({"scheme": s.label, "model": s.model,
                     "reordered_peak_bytes": r["reordered"].peak_sram_bytes,
                     "unfused_peak_bytes": r["unfused"].peak_sram_bytes,
                     "reordered_arena_bytes": r["reordered"].arena_bytes,
                     "trainable_sram_bytes": r["reordered"].trainable_sram_bytes,
                     "paper_reordered_kb": PAPER_REORDERED_KB[s.model]})
    full = [{"model": m, "full_peak_bytes": estimate(m, "full", "reordered", args.planner,
                                                     args.grad_precision).peak_sram_bytes,
             "paper_full_kb": PAPER_FULL_KB[m]} for m in PAPER_REORDERED_KB]
    if args.json:
        print_json({"planner": args.planner, "grad_precision": args.grad_precision, "schemes": rows, "full": full})
        return 0
    print(f"peak SRAM of one training step (KB = 1024 B; peak = arena + trainable parameters), "
          f"planner {args.planner}, {args.grad_precision} gradients")
    print(format_table(
        ["scheme", "reordered", "unfused", "arena", "trainable", "paper (reordered, per model)"],
        [[r["scheme"], r["reordered_peak_bytes"] / 1024, r["unfused_peak_bytes"] / 1024,
          r["reordered_arena_bytes"] / 1024, r["trainable_sram_bytes"] / 1024, r["paper_reordered_kb"]]
         for r in rows]))
    print()
    print(format_table(["model", "full update", "paper full update"],
                       [[f["model"], f["full_peak_bytes"] / 1024, f["paper_full_kb"]] for f in full]))
    return 0
