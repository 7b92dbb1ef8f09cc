"""Build a training step for a target, run it in an emulator, print measured next to predicted."""

from __future__ import annotations

import argparse
import sys

from tinybench.bench.cell import CELL_INSTRUCTION_BUDGET, CELL_TIMEOUT_S, CellConfig, run_cell
from tinybench.cli.options import integer_in, positive_real, writable_dir
from tinybench.cli.estimate import add_tiling_argument, describe_tiling
from tinybench.cli.output import format_table, print_json
from tinybench.codegen.firmware import KERNEL_SETS
from tinybench.codegen.targets import TARGETS
from tinybench.emulate import DEFAULT_BACKEND, backend_names


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="shipped model name or model file")
    p.add_argument("--scheme", required=True, help="published scheme, full, bias-only, last-K or a .toml file")
    p.add_argument("--target", required=True, choices=sorted(TARGETS))
    p.add_argument("--emulator", choices=backend_names(), default=DEFAULT_BACKEND)
    p.add_argument("--steps", type=integer_in(1), default=3,
                   help="training steps on the embedded sample (default %(default)s)")
    p.add_argument("--schedule", choices=["reordered", "unfused"], default="reordered")
    p.add_argument("--kernels", choices=KERNEL_SETS, default=None,
                   help="C kernel set (default: fast where the core has the DSP extension, i.e. Cortex-M4/M7)")
    p.add_argument("--no-qas", action="store_true", help="plain int8 SGD")
    add_tiling_argument(p)
    p.add_argument("--instruction-budget", type=integer_in(1, 2**62), default=CELL_INSTRUCTION_BUDGET,
                   help="stop and report a hang after this many instructions (default %(default)s)")
    p.add_argument("--timeout", type=positive_real("a finite number of seconds"), default=CELL_TIMEOUT_S,
                   help="wall-clock limit in seconds, > 0 (default %(default)s)")
    p.add_argument("--work-dir", type=writable_dir,
                   help="keep the generated sources and ELF here (without it they go to a temporary "
                        "folder that is removed at the end)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def run(args: argparse.Namespace) -> int:
    cfg = CellConfig(args.model, args.scheme, args.target, args.emulator, args.steps, qas=not args.no_qas,
                     schedule=args.schedule, kernels=args.kernels, tiling=args.tiling,
                     instruction_budget=args.instruction_budget,
                     timeout_s=args.timeout)
    res = run_cell(cfg, args.work_dir)
    if args.json:
        print_json(res.to_json())
    else:
        m, p = res.measured, res.predicted
        print(f"{cfg.model} {cfg.scheme} on {res.target} under {res.emulator}, {res.config['kernels']} kernels: "
              f"{res.status}"
              + (f" ({res.reason})" if res.reason else ""))
        if m:
            e = res.error

            def row(label: str, key: str, measured_key: str | None = None) -> list:
                err = e.get(key)
                return [label, _fmt(m.get(measured_key or key)), _fmt(p.get(key)),
                        f"{100 * err:+.2f}%" if err is not None else "-"]

            steps = m["steps_measured"]
            print(format_table(["", "measured", "predicted", "error"], [
                row("peak SRAM (static + arena + stack), B", "peak_sram_bytes"),
                row("  arena high-water / planned, B", "arena_bytes", "arena_used_bytes"),
                row("  stack high-water, B", "stack_bytes"),
                row("  static data (.data + .bss), B", "static_sram_bytes"),
                row("flash (code, constants, parameters), B", "flash_bytes"),
                row(f"instructions ({steps} steps)", "instructions"),
                row(f"cycles ({steps} steps)", "cycles"),
                row("ms per step at target clock (last step)", "latency_ms"),
                ["instructions (whole run)", _fmt(m["run_instructions"]), "-", "-"],
                ["parameter checksum", _fmt(m["param_checksum"]), m["host_reference_checksum"] + " (host)", "-"],
            ]))
            if "unavailable" in p:
                print(f"no prediction: {p['unavailable']}")
            worst = sorted((o for o in res.profile if o.get("predicted_instructions") and o["instructions"]),
                           key=lambda o: -abs(o["predicted_instructions"] / o["instructions"] - 1))[:5]
            if worst:
                print("\nops with the largest instruction errors (last step):")
                print(format_table(["op", "measured", "predicted", "error"], [
                    [o["op"], o["instructions"], o["predicted_instructions"],
                     f"{100 * (o['predicted_instructions'] / o['instructions'] - 1):+.2f}%"] for o in worst]))
            if m["cycles"] is not None:
                print(f"cycle model: {m['cycles_model']}")
            print(describe_tiling(p["tiling"]))
            top = sorted((o for o in res.profile if o["cycles"]), key=lambda o: -o["cycles"])[:10]
            if top:
                print("\nslowest ops of the last step:")
                print(format_table(["op", "cycles"], [[o["op"], o["cycles"]] for o in top]))
            funcs = list(res.function_instructions.items())[:8]
            if funcs:
                print("\ninstructions by function (whole run):")
                print(format_table(["function", "instructions"], [[f, n] for f, n in funcs]))
    if not res.ok:
        print(f"tinybench run: {res.status}: {res.reason}", file=sys.stderr)
        return 1
    return 0
