"""How fast the estimator answers, side by side with the emulator on the same cells.

    python benchmarks/estimator_speed.py [--emulate N] [--repeat 3]

Estimates all 15 published schemes x 3 models x 2 targets through the batch API
(tinybench.bench.predict.predict_cells): cold (first call in the process: Numba compilation,
model loading, each model's data profile, compiling and planning every step), then warm (the
same cells again in the same process: best of ``--repeat``), and warm with fresh plans (the plan
cache cleared: only what is shared between configurations is reused). Then runs ``--emulate``
of the same cells in firmware under iss (default: all of them) and reports the emulator's wall
time per cell next to the estimator's, and their ratio. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time

from tinybench.bench.cell import CellConfig, run_cell
from tinybench.bench.predict import predict_cells
from tinybench.estimate import batch
from tinybench.graph.schemes import published_schemes

TARGETS = ("stm32f746", "nrf52840")


def cells(kernels: str) -> list[CellConfig]:
    return [CellConfig(s.model, s.label, t, kernels=kernels, instruction_budget=10**10, timeout_s=3000)
            for s in published_schemes() for t in TARGETS]


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernels", default="reference")
    ap.add_argument("--emulate", type=int, default=None, help="cells to run in firmware (default: all)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    todo = cells(args.kernels)
    cold, table = timed(lambda: predict_cells(todo))
    assert (table["status"] == "ok").all(), table[table["status"] != "ok"][["model", "scheme", "reason"]]
    warm = min(timed(lambda: predict_cells(todo))[0] for _ in range(args.repeat))

    def fresh_plans():
        batch._plan.cache_clear()
        return predict_cells(todo)

    fresh = min(timed(fresh_plans)[0] for _ in range(args.repeat))
    print(f"estimator, {len(todo)} cells: cold {cold:.2f} s, warm {warm:.3f} s ({1e3 * warm / len(todo):.2f} ms per "
          f"cell), warm with fresh plans {fresh:.2f} s")
    emulated = todo[: args.emulate] if args.emulate is not None else todo
    walls = []
    for cfg in emulated:
        wall, result = timed(lambda: run_cell(cfg))
        walls.append(wall)
        print(f"  {cfg.scheme:22s} {cfg.target:10s} {result.status:8s} {wall:6.1f} s "
              f"(emulation {result.measured.get('wall_time_s', 0):.1f} s)", flush=True)
    per_cell = statistics.mean(walls)
    print(f"emulator (tinybench run, iss): {per_cell:.1f} s per cell over {len(walls)} cells; "
          f"{per_cell * len(todo):.0f} s for all {len(todo)}")
    print(f"ratio, emulator / estimator per cell: warm {per_cell / (warm / len(todo)):,.0f}x, "
          f"fresh plans {per_cell / (fresh / len(todo)):,.0f}x, cold {per_cell / (cold / len(todo)):,.0f}x")


if __name__ == "__main__":
    main()
