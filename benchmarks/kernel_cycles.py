"""Benchmark: modelled cycles of one training step per kernel kind, for each kernel set.

Runs the step of every shipped model (49kb scheme, stm32f746, ``iss``: modelled cycles of the
Cortex-M4 table, per op between the firmware's event markers) once per kernel set, side by side, and prints per model the step's cycles
and, per kernel kind (the op kind with the convolution variant: ``bwd_input/pointwise``,
``pwdw_fwd``, ...), cycles, MACs, cycles per MAC and share of the step, plus the distance
to the 2 MAC/cycle floor (SMLAD) of the whole step.

Usage: .venv/bin/python benchmarks/kernel_cycles.py [--kernels reference,fast] [--models M,...]
       [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

from tinybench.bench.cell import CellConfig, prepare_cell, run_cell
from tinybench.graph.training import TrainingGraph
from tinybench.models.ir import Conv, ConvKind
from tinybench.models.zoo import model_names

#: MACs per cycle of SMLAD: the physical floor of an int8 step on Cortex-M4/M7.
FLOOR_MACS_PER_CYCLE = 2


def _variant(conv: Conv) -> str:
    if conv.kind is ConvKind.DEPTHWISE:
        return "depthwise"
    return "pointwise" if conv.kernel == 1 and conv.stride == 1 else "conv"


def op_kinds(graph: TrainingGraph) -> dict[str, str]:
    """op name (as the firmware profiles it) -> kernel kind (the op kind with the convolution variant)."""
    convs = {c.name: c for c in graph.model.convs}
    out = {}
    for op in graph.ops:
        conv = convs.get(op.layer) if op.layer else None
        kind = op.kind
        if conv is not None and op.kind in ("conv_fwd", "conv_bwd_input", "conv_bwd_update", "conv_bwd_params"):
            kind = f"{op.kind}/{_variant(conv)}"
        out[op.name.replace(" ", "_")] = kind
    return out


def summarize(model: str, result, graph: TrainingGraph) -> dict:
    kinds = op_kinds(graph)
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for entry in result.profile:
        kind = kinds[entry["op"]]
        by_kind[kind][0] += entry["cycles"] or 0
        by_kind[kind][1] += entry["macs"]  # of the op as run: a row band counts its rows
    total = result.measured["cycles_per_step"][-1]  # the last step, like the profile
    macs = sum(m for _, m in by_kind.values())
    return {
        "model": model, "status": result.status, "cycles": total, "macs": macs,
        "cycles_per_mac": total / macs, "floor_cycles": macs / FLOOR_MACS_PER_CYCLE,
        "times_floor": total / (macs / FLOOR_MACS_PER_CYCLE),
        "checksum_ok": result.measured["param_checksum"] == result.measured["host_reference_checksum"],
        "kinds": {k: {"cycles": c, "macs": m, "cycles_per_mac": c / m if m else None, "share": c / total}
                  for k, (c, m) in sorted(by_kind.items(), key=lambda kv: -kv[1][0])},
    }


def print_summary(s: dict, kernels: str) -> None:
    print(f"\n{s['model']} ({kernels}): {s['status']}, {s['cycles'] / 1e6:.1f} M cycles, "
          f"{s['macs'] / 1e6:.2f} M MACs, {s['cycles_per_mac']:.2f} cycles/MAC, "
          f"{s['times_floor']:.1f}x the 2 MAC/cycle floor ({s['floor_cycles'] / 1e6:.1f} M), "
          f"checksum {'= host' if s['checksum_ok'] else 'DIFFERS'}")
    print(f"  {'kind':34} {'M cycles':>9} {'share':>6} {'M MACs':>8} {'cyc/MAC':>8}")
    for kind, k in s["kinds"].items():
        cpm = f"{k['cycles_per_mac']:8.2f}" if k["cycles_per_mac"] else "       -"
        print(f"  {kind:34} {k['cycles'] / 1e6:9.2f} {k['share']:6.1%} {k['macs'] / 1e6:8.2f} {cpm}")


def step_arguments(doc: str, written: str) -> argparse.Namespace:
    """The options of a benchmark that runs the step of each model per kernel set (this one and
    tiling_cost.py): kernel sets, models, scheme, target, and a JSON file of ``written``."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--kernels", default="reference,fast")
    ap.add_argument("--models", default=",".join(model_names()))
    ap.add_argument("--scheme", default="49kb")
    ap.add_argument("--target", default="stm32f746")
    ap.add_argument("--json", help=f"write the {written} here")
    return ap.parse_args()


def main() -> None:
    args = step_arguments(__doc__, "summaries")
    summaries = []
    for model in args.models.split(","):
        for kernels in args.kernels.split(","):
            cfg = CellConfig(model, args.scheme, args.target, "iss", kernels=kernels)
            graph = prepare_cell(cfg).graph  # the step as the cell runs it (tiled where auto tiles)
            with tempfile.TemporaryDirectory(prefix="tb-kcycles-") as tmp:
                res = run_cell(cfg, Path(tmp))
            if not res.measured.get("cycles_per_step"):
                print(f"\n{model} ({kernels}): {res.status}: {res.reason}")
                continue
            s = summarize(model, res, graph)
            s["kernels"] = kernels
            print_summary(s, kernels)
            summaries.append(s)
    if args.json:
        Path(args.json).write_text(json.dumps(summaries, indent=1))


if __name__ == "__main__":
    main()
