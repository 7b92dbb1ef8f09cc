"""Benchmark: what tiling the frozen prefix costs and saves, measured in the emulator.

For every shipped model (a scheme, a target, each kernel set), runs the training step with
``--tiling auto`` and with ``--tiling none`` side by side in ``iss`` and prints the measured
cycles of the last step, the cycles tiling adds (measured, and as the estimator predicted it
before the build), the arena the firmware used against the plan, and peak SRAM measured
against predicted.

Usage: .venv/bin/python benchmarks/tiling_cost.py [--kernels reference,fast] [--scheme 49kb]
       [--target stm32f746] [--models M,...] [--json out.json]
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tinybench.bench.cell import CellConfig, run_cell

from kernel_cycles import step_arguments


def _label(t: dict | None) -> str:
    return f"{t['ops']}:{t['tiles']}" if t and t.get("ops") else "none"


def measure(model: str, scheme: str, target: str, kernels: str, tiling: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="tb-tiling-") as tmp:
        r = run_cell(CellConfig(model, scheme, target, "iss", steps=1, kernels=kernels, tiling=tiling), Path(tmp))
    m, p = r.measured, r.predicted
    return {"model": model, "kernels": kernels, "tiling": tiling, "status": r.status, "reason": r.reason,
            "chosen": _label(p.get("tiling")),
            "cycles": m.get("cycles"), "predicted_cycles": p.get("cycles"),
            "arena_used": m.get("arena_used_bytes"), "arena_planned": p.get("arena_bytes"),
            "peak_sram": m.get("peak_sram_bytes"), "predicted_peak_sram": p.get("peak_sram_bytes"),
            "checksum_ok": m.get("param_checksum") == m.get("host_reference_checksum")}


def main() -> None:
    args = step_arguments(__doc__, "rows")
    rows = []
    print(f"{'model':16} {'kernels':9} {'M cycles none':>13} {'auto':>9} {'tiles':>5} {'added':>7} {'predicted':>9} "
          f"{'arena none':>10} {'auto':>7} {'= plan':>6} {'peak err':>8}")
    for model in args.models.split(","):
        for kernels in args.kernels.split(","):
            none, auto = (measure(model, args.scheme, args.target, kernels, t) for t in ("none", "auto"))
            rows += [none, auto]
            if none["status"] != "ok" or auto["status"] != "ok":
                print(f"{model:16} {kernels:9} {none['status']}/{auto['status']}: {none['reason']} {auto['reason']}")
                continue
            added = auto["cycles"] / none["cycles"] - 1
            predicted = auto["predicted_cycles"] / none["predicted_cycles"] - 1
            peak_err = auto["predicted_peak_sram"] / auto["peak_sram"] - 1
            same = all(r["arena_used"] == r["arena_planned"] and r["checksum_ok"] for r in (none, auto))
            print(f"{model:16} {kernels:9} {none['cycles'] / 1e6:13.1f} {auto['cycles'] / 1e6:9.1f} {auto['chosen']:>5} {added:7.1%} "
                  f"{predicted:9.1%} {none['arena_used']:10,} {auto['arena_used']:7,} {'yes' if same else 'NO':>6} "
                  f"{peak_err:8.2%}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
