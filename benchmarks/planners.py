"""Benchmark: arena over the live-bytes floor and planning time, per planner, for the 15
published schemes under both schedules. Usage: .venv/bin/python benchmarks/planners.py"""

from __future__ import annotations

import time

from tinybench.graph.schemes import get_scheme, published_schemes, resolve
from tinybench.graph.training import Schedule, compile_training
from tinybench.models.zoo import load_model
from tinybench.plan.memory import plan_memory
from tinybench.plan.planners import PLANNERS


def main() -> None:
    models = {}
    graphs = []
    for s in published_schemes():
        m = models.setdefault(s.model, load_model(s.model, num_classes=10))
        graphs += [(f"{s.label} {sched.value}", compile_training(m, resolve(get_scheme(s.label, m), m), sched))
                   for sched in Schedule]
    print(f"{'planner':12} {'in-place':8} {'worst over floor':>16} {'mean':>7} {'cpu s (30 plans)':>17}")
    for name in PLANNERS:
        for inplace in ("auto", True):
            over = []
            cpu = time.process_time()
            for _, g in graphs:
                plan = plan_memory(g, name, inplace)
                over.append(plan.arena_bytes / plan.floor_bytes - 1)
            cpu = time.process_time() - cpu
            print(f"{name:12} {str(inplace):8} {max(over):16.2%} {sum(over) / len(over):7.2%} {cpu:17.2f}")


if __name__ == "__main__":
    main()
