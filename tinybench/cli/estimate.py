"""Compile a training step and report its planned memory (SRAM, flash, breakdown at the peak)."""

from __future__ import annotations

import argparse

from tinybench.cli.options import integer_in
from tinybench.cli.output import format_table, kb, print_json
from tinybench.graph.schemes import get_scheme, resolve
from tinybench.graph.training import GradPrecision, Schedule, compile_training
from tinybench.kernels.host import MAX_CLASSES
from tinybench.models.zoo import DEFAULT_TRAIN_CLASSES, load_model
from tinybench.plan.memory import MemoryReport, memory_report, plan_memory
from tinybench.plan.planners import DEFAULT_PLANNER, PLANNERS


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="shipped model name (see `tinybench models`) or a model file")
    p.add_argument("--scheme", required=True,
                   help="published scheme (mcunet-5fps:99kb or 99kb), full, bias-only, last-K, or a .toml file")
    p.add_argument("--schedule", choices=[s.value for s in Schedule], default=Schedule.REORDERED.value)
    p.add_argument("--planner", choices=list(PLANNERS), default=DEFAULT_PLANNER)
    p.add_argument("--grad-precision", choices=[g.value for g in GradPrecision], default=GradPrecision.INT8.value,
                   help="int8 gradients (ours) or fp32 (as the paper's engine)")
    p.add_argument("--classes", type=integer_in(2, MAX_CLASSES), default=DEFAULT_TRAIN_CLASSES,
                   help="classes of the new head (default %(default)s, as in the paper)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def estimate(model: str, scheme: str, schedule: str = "reordered", planner: str = DEFAULT_PLANNER,
             precision: str = "int8", classes: int = DEFAULT_TRAIN_CLASSES) -> MemoryReport:
    m = load_model(model, num_classes=classes)
    graph = compile_training(m, resolve(get_scheme(scheme, m), m), schedule, precision)
    return memory_report(plan_memory(graph, planner))


def _over(arena: int, floor: int) -> str:
    return f"{arena - floor:,} B ({(arena / floor - 1) if floor else 0:.1%})"


def run(args: argparse.Namespace) -> int:
    report = estimate(args.model, args.scheme, args.schedule, args.planner, args.grad_precision, args.classes)
    if args.json:
        print_json(report.to_json())
        return 0
    print(f"{report.model}  scheme {report.scheme}  schedule {report.schedule}  planner {report.planner}  "
          f"gradients {report.precision}")
    print(format_table(["memory", "bytes", ""], [
        ["arena (activations, gradients, masks, scratch)", report.arena_bytes, kb(report.arena_bytes)],
        ["trainable parameters in SRAM", report.trainable_sram_bytes, kb(report.trainable_sram_bytes)],
        ["peak SRAM (arena + trainable)", report.peak_sram_bytes, kb(report.peak_sram_bytes)],
        ["frozen parameters in flash", report.flash_bytes, kb(report.flash_bytes)],
    ]))
    print(f"\npeak at op {report.peak_op}: {report.peak_live_bytes:,} B live; live-bytes floor of the "
          f"schedule {report.floor_bytes:,} B, the arena is {_over(report.arena_bytes, report.floor_bytes)} above it "
          f"(planned in {report.planning_s * 1e3:,.0f} ms)")
    print(format_table(["category", "bytes at peak"], [[c, b] for c, b in report.breakdown.items()]))
    print()
    print(format_table(["live at peak", "bytes", "category"], [[t.name, t.bytes, t.category] for t in report.peak_live]))
    print("\nfirmware static data and code are not included until firmware is built (`tinybench run`).")
    return 0
