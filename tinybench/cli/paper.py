"""Peak SRAM of the 15 published schemes, both schedules, next to the paper's figures."""

from __future__ import annotations

import argparse

from tinybench.bench.reference import PAPER_FULL_KB, PAPER_REORDERED_KB, PAPER_SCHEME_REORDERED_KB
from tinybench.cli.output import format_table, print_json
from tinybench.graph.schemes import published_schemes
from tinybench.graph.training import GradPrecision, Schedule
from tinybench.cli.estimate import add_tiling_argument, estimate
from tinybench.plan.planners import DEFAULT_PLANNER, PLANNERS



def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--planner", choices=list(PLANNERS), default=DEFAULT_PLANNER)
    p.add_argument("--grad-precision", choices=[g.value for g in GradPrecision], default=GradPrecision.INT8.value)
    add_tiling_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _tiling_cell(t: dict) -> str:
    return f"{t['ops']}:{t['tiles']} +{t['extra_fraction']:.1%}" if t["ops"] else "none"


def run(args: argparse.Namespace) -> int:
    rows = []
    planning_s = 0.0
    for s in published_schemes():
        r = {sched.value: estimate(s.model, s.label, sched.value, args.planner, args.grad_precision,
                                   tiling=args.tiling) for sched in Schedule}
        planning_s += sum(x.planning_s for x in r.values())
        re = r["reordered"]
        rows.append({"scheme": s.label, "model": s.model,
                     "reordered_peak_bytes": re.peak_sram_bytes,
                     "unfused_peak_bytes": r["unfused"].peak_sram_bytes,
                     "reordered_arena_bytes": re.arena_bytes,
                     "reordered_floor_bytes": re.floor_bytes,
                     "reordered_peak_op": re.peak_op,
                     "reordered_tiling": re.tiling,
                     "trainable_sram_bytes": re.trainable_sram_bytes,
                     "paper_reordered_kb": PAPER_SCHEME_REORDERED_KB.get(s.label)})
    full = []
    for m in PAPER_REORDERED_KB:
        f = estimate(m, "full", "reordered", args.planner, args.grad_precision, tiling=args.tiling)
        planning_s += f.planning_s
        full.append({"model": m, "full_peak_bytes": f.peak_sram_bytes, "paper_full_kb": PAPER_FULL_KB[m]})
    if args.json:
        print_json({"planner": args.planner, "grad_precision": args.grad_precision, "tiling": str(args.tiling),
                    "schemes": rows, "full": full, "planning_s": planning_s})
        return 0
    print(f"peak SRAM of one training step (KB = 1024 B; peak = arena + trainable parameters), "
          f"planner {args.planner}, {args.grad_precision} gradients, tiling {args.tiling}; floor: most bytes live "
          f"at one op (reordered), the least arena its schedule allows; tiling: first ops:row bands, +% of the "
          f"step's MACs; paper: its figure for the scheme, where it gives one")
    print(format_table(
        ["scheme", "reordered", "unfused", "arena", "floor", "peak op", "tiling", "trainable",
         "paper (reordered)", "reordered / paper"],
        [[r["scheme"], r["reordered_peak_bytes"] / 1024, r["unfused_peak_bytes"] / 1024,
          r["reordered_arena_bytes"] / 1024, r["reordered_floor_bytes"] / 1024, r["reordered_peak_op"],
          _tiling_cell(r["reordered_tiling"]), r["trainable_sram_bytes"] / 1024, r["paper_reordered_kb"] or "",
          f"{r['reordered_peak_bytes'] / 1024 / r['paper_reordered_kb']:.2f}" if r["paper_reordered_kb"] else ""]
         for r in rows]))
    print()
    print(format_table(["model", "full update", "paper full update"],
                       [[f["model"], f["full_peak_bytes"] / 1024, f["paper_full_kb"]] for f in full]))
    print(f"\nplanning ({len(rows) * len(Schedule) + len(full)} steps): {planning_s:.2f} s")
    return 0
