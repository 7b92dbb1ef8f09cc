"""Compile a training step and report its planned memory; with --target, predict its instructions, cycles, latency and firmware memory.

Without ``--target`` only the memory plan (arena, trainable parameters, breakdown at the peak).
With ``--target`` the estimator (tinybench.estimate) also predicts, from a host run of the same
steps on the same sample as ``tinybench run`` and the target's calibration, per step:
instructions, cycles (the iss cycle model), latency at the target's clock, the phases, and the
memory a build will measure (static data, stack, flash, peak SRAM); ``--ops`` lists every op."""

from __future__ import annotations

import argparse

from tinybench.bench.cell import CellConfig, predict_cell, prepare_cell
from tinybench.cli import UsageError
from tinybench.cli.options import integer_in
from tinybench.codegen.firmware import KERNEL_SETS
from tinybench.codegen.targets import TARGETS
from tinybench.cli.output import format_table, kb, print_json
from tinybench.graph.schemes import get_scheme, resolve
from tinybench.graph.training import GradPrecision, Schedule, compile_training
from tinybench.kernels.host import MAX_CLASSES
from tinybench.models.zoo import DEFAULT_TRAIN_CLASSES, load_model
from tinybench.plan.memory import MemoryReport, memory_report
from tinybench.plan.planners import DEFAULT_PLANNER, PLANNERS
from tinybench.plan.tiling import AUTO_BUDGET, choose_tiling, parse_tiling


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="shipped model name (see `tinybench models`) or a model file")
    p.add_argument("--scheme", required=True,
                   help="published scheme (mcunet-5fps:99kb or 99kb), full, bias-only, last-K, or a .toml file")
    p.add_argument("--schedule", choices=[s.value for s in Schedule], default=Schedule.REORDERED.value)
    p.add_argument("--planner", choices=list(PLANNERS), default=DEFAULT_PLANNER)
    p.add_argument("--grad-precision", choices=[g.value for g in GradPrecision], default=GradPrecision.INT8.value,
                   help="int8 gradients (ours) or fp32 (as the paper's engine)")
    add_tiling_argument(p)
    p.add_argument("--classes", type=integer_in(2, MAX_CLASSES), default=DEFAULT_TRAIN_CLASSES,
                   help="classes of the new head (default %(default)s, as in the paper)")
    p.add_argument("--target", choices=sorted(TARGETS), help="predict instructions, cycles and firmware memory on this target")
    p.add_argument("--kernels", choices=KERNEL_SETS, default=None,
                   help="C kernel set of the prediction (default: the target's, as `tinybench run`)")
    p.add_argument("--steps", type=integer_in(1), default=1, help="training steps predicted (default %(default)s)")
    p.add_argument("--ops", action="store_true", help="with --target: every op with its MACs, instructions, cycles")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _tiling(text: str) -> str | tuple[int, int]:
    try:
        return parse_tiling(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_tiling_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tiling", type=_tiling, default="auto", metavar="auto|none|N:TILES|min-memory",
                   help="run the first N ops of the frozen prefix per row band, TILES bands; auto (default): "
                        f"the least memory whose recomputed work stays within {AUTO_BUDGET * 100:.0f}%% of the step's "
                        "(predicted cycles where a target is given, MACs otherwise); min-memory: at any cost")


def estimate(model: str, scheme: str, schedule: str = "reordered", planner: str = DEFAULT_PLANNER,
             precision: str = "int8", classes: int = DEFAULT_TRAIN_CLASSES,
             tiling: str | tuple[int, int] = "auto") -> MemoryReport:
    m = load_model(model, num_classes=classes)
    graph = compile_training(m, resolve(get_scheme(scheme, m), m), schedule, precision)
    choice = choose_tiling(graph, tiling, planner)
    return memory_report(choice.plan, choice.to_json())


def describe_tiling(t: dict) -> str:
    """One line: the tiling chosen for a step and what it costs."""
    if not t["ops"]:
        return f"tiling ({t['request']}): none (live-bytes floor {t['floor_bytes']:,} B)"
    return (f"tiling ({t['request']}): the first {t['ops']} ops on {t['tiles']} row bands, assembling {t['output']}; "
            f"floor {t['untiled_floor_bytes']:,} -> {t['floor_bytes']:,} B for {t['extra_cost']:,.0f} recomputed "
            f"{t['cost_unit']} ({t['extra_fraction']:.1%} of the step's {t['step_cost']:,.0f})")


def _over(arena: int, floor: int) -> str:
    return f"{arena - floor:,} B ({(arena / floor - 1) if floor else 0:.1%})"


def _prediction(args: argparse.Namespace) -> dict:
    if args.grad_precision != GradPrecision.INT8.value or args.classes != DEFAULT_TRAIN_CLASSES:
        raise UsageError("tinybench estimate", "--target predicts the firmware of `tinybench run`: int8 gradients "
                                               f"and {DEFAULT_TRAIN_CLASSES} classes")
    cell = prepare_cell(CellConfig(args.model, args.scheme, args.target, steps=args.steps, schedule=args.schedule,
                                   planner=args.planner, tiling=args.tiling, kernels=args.kernels))
    prediction, _ = predict_cell(cell)
    summary = prediction.summary()
    summary["flash_total_bytes"] = summary.pop("flash_bytes")
    return {"target": args.target, "kernels": cell.cfg.kernels, "steps": args.steps, **summary,
            "trainable_sram_bytes": cell.report.trainable_sram_bytes, "op_costs": prediction.op_costs()}


def _print_prediction(d: dict, ops: bool) -> None:
    print(f"\non {d['target']} with the {d['kernels']} kernels, {d['steps']} step(s) "
          f"(calibration {d['calibration']}; cycles: {d['cycle_model']})")
    print(format_table(["per step (last)", "predicted", ""], [
        ["instructions", d["instructions_per_step"][-1], ""],
        ["cycles", d["cycles_per_step"][-1], ""],
        ["latency at the target's clock, ms", d["latency_ms"], ""],
        ["peak SRAM (static + arena + stack), B", d["peak_sram_bytes"], kb(d["peak_sram_bytes"])],
        ["  static data (.data + .bss), B", d["static_sram_bytes"], kb(d["static_sram_bytes"])],
        ["  stack high-water, B", d["stack_bytes"], ""],
        ["flash (code, constants, parameters), B", d["flash_total_bytes"], kb(d["flash_total_bytes"])],
    ]))
    print(format_table(["phase (all steps)", "instructions", "cycles"],
                       [[p, v["instructions"], v["cycles"]] for p, v in d["phases"].items()]))
    if ops:
        print()
        print(format_table(["op", "phase", "MACs", "instructions", "cycles"],
                           [[o["op"], o["phase"], o["macs"], o["instructions"], o["cycles"]] for o in d["op_costs"]]))


def run(args: argparse.Namespace) -> int:
    report = estimate(args.model, args.scheme, args.schedule, args.planner, args.grad_precision, args.classes,
                      args.tiling)
    prediction = _prediction(args) if args.target else None
    if args.json:
        out = report.to_json()
        if prediction is not None:
            if not args.ops:
                del prediction["op_costs"]
            out["prediction"] = prediction
        print_json(out)
        return 0
    print(f"{report.model}  scheme {report.scheme}  schedule {report.schedule}  planner {report.planner}  "
          f"gradients {report.precision}")
    print(format_table(["memory", "bytes", ""], [
        ["arena (activations, gradients, masks, scratch)", report.arena_bytes, kb(report.arena_bytes)],
        ["trainable parameters in SRAM", report.trainable_sram_bytes, kb(report.trainable_sram_bytes)],
        ["peak SRAM (arena + trainable)", report.peak_sram_bytes, kb(report.peak_sram_bytes)],
        ["frozen parameters in flash", report.flash_bytes, kb(report.flash_bytes)],
    ]))
    print(f"\n{describe_tiling(report.tiling)}")
    print(f"peak at op {report.peak_op}: {report.peak_live_bytes:,} B live; live-bytes floor of the "
          f"schedule {report.floor_bytes:,} B, the arena is {_over(report.arena_bytes, report.floor_bytes)} above it "
          f"(planned in {report.planning_s * 1e3:,.0f} ms)")
    print(format_table(["category", "bytes at peak"], [[c, b] for c, b in report.breakdown.items()]))
    print()
    print(format_table(["live at peak", "bytes", "category"], [[t.name, t.bytes, t.category] for t in report.peak_live]))
    if prediction is None:
        print("\nfirmware static data, stack and code: give --target to predict them.")
    else:
        _print_prediction(prediction, args.ops)
    return 0
