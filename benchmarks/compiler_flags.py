"""Benchmark: the optimisation flags of the firmware, measured per kernel.

Builds the training step of every shipped model (49kb scheme, stm32f746, fast kernels unless
``--kernels``) once per flag set, runs one step under ``iss`` and prints modelled cycles of each flag set relative to ``-O2`` per kernel kind (op markers, so
inlining does not move cycles between functions) (the flags every build and calibration
uses), side by side in one run, then the whole step. Checks each step's trained parameters
against the host reference, so a flag that changed a result would show.

Usage: .venv/bin/python benchmarks/compiler_flags.py [--flags="-O2,-O3,..."] [--models M,...]
       [--kernels fast|reference] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

from tinybench.bench.cell import CellConfig, host_reference_checksum, prepare_cell
from tinybench.codegen.firmware import build_training_firmware
from tinybench.emulate import get_backend
from tinybench.kernels.executor import DEFAULT_LR, TrainingStep
from tinybench.models.zoo import model_names

from kernel_cycles import op_kinds

FLAG_SETS = ("-O2", "-O3", "-O2 -funroll-loops", "-Os")
STEPS = 1


def measure(model: str, kernels: str, flags: tuple[str, ...], work: Path) -> dict[str, dict]:
    """Per flag set: the step's cycles and instructions, and cycles per kernel kind."""
    cell = prepare_cell(CellConfig(model, "49kb", "stm32f746", "iss", steps=STEPS, kernels=kernels))
    expected = host_reference_checksum(TrainingStep(cell.plan, lr=DEFAULT_LR, qas=True), cell.image, cell.label,
                                       STEPS)
    out = {}
    for i, opt in enumerate(flags):
        _, build = build_training_firmware(cell.plan, cell.image, cell.label, "stm32f746", "qemu",
                                           work / f"{model}-{i}", steps=STEPS, lr=DEFAULT_LR, qas=True, opt=opt,
                                           kernels=kernels)
        run = get_backend("iss").run(build.elf, "stm32f746")
        if run.status != "ok" or run.checksum != expected:
            raise SystemExit(f"{model} {opt}: {run.status} {run.reason}, checksum {run.checksum:#x} "
                             f"(host {expected:#x})")
        step = run.counted_steps()[-1]
        kinds: dict[str, int] = defaultdict(int)
        for kind, op in zip(op_kinds(cell.graph).values(), (step.ops[i] for i in range(len(step.ops)))):
            kinds[kind] += op.cycles
        out[opt] = {"cycles": step.total.cycles, "instructions": step.total.instructions,
                    "flash_bytes": build.flash_bytes, "kinds": dict(kinds)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flags", default=",".join(FLAG_SETS), help="flag sets, comma-separated; the first is the base")
    ap.add_argument("--models", default=",".join(model_names()))
    ap.add_argument("--kernels", default="fast")
    ap.add_argument("--json")
    args = ap.parse_args()
    flags = tuple(args.flags.split(","))
    results = {}
    per_kind: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with tempfile.TemporaryDirectory(prefix="tb-flags-") as tmp:
        for model in args.models.split(","):
            results[model] = r = measure(model, args.kernels, flags, Path(tmp))
            print(f"{model}: " + ", ".join(f"{o} {v['cycles'] / 1e6:.1f} M cycles ({v['cycles'] / r[flags[0]]['cycles']:.3f}x),"
                                          f" flash {v['flash_bytes']:,} B" for o, v in r.items()))
            for opt, v in r.items():
                for kind, c in v["kinds"].items():
                    per_kind[kind][opt] += c
    base = flags[0]
    print(f"\nper kernel kind, all models, cycles relative to {base}")
    print(f"{'kind':28} {base + ' M cycles':>14} " + " ".join(f"{o:>20}" for o in flags[1:]))
    for kind, by in sorted(per_kind.items(), key=lambda kv: -kv[1][base]):
        if by[base] >= 100_000:
            print(f"{kind:28} {by[base] / 1e6:14.2f} " + " ".join(f"{by[o] / by[base]:20.3f}" for o in flags[1:]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
