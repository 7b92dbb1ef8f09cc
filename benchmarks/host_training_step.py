"""Benchmark: host time of one training step (49kb scheme) per model, Numba vs host C kernels,
measured side by side in one run. Usage: .venv/bin/python benchmarks/host_training_step.py [repeats]"""

from __future__ import annotations

import sys
import time

from tinybench.graph.schemes import get_scheme, resolve
from tinybench.graph.training import compile_training
from tinybench.kernels.executor import TrainingStep, host_c_kernels, numba_kernels
from tinybench.models.dataset import digits
from tinybench.models.zoo import load_model, model_names
from tinybench.plan.memory import plan_memory


def median_step_seconds(step: TrainingStep, images, labels, repeats: int) -> float:
    step.step(images[0], labels[0])  # warm-up: JIT compilation or cache load
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        step.step(images[i % len(labels)], labels[i % len(labels)])
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main(repeats: int = 10) -> None:
    data = digits()[0]
    print(f"{'model':16} {'numba ms':>9} {'host C ms':>10} {'C / numba':>10}")
    for name in model_names():
        m = load_model(name, num_classes=10)
        plan = plan_memory(compile_training(m, resolve(get_scheme("49kb", m), m)))
        nb = median_step_seconds(TrainingStep(plan, numba_kernels()), data.images, data.labels, repeats)
        c = median_step_seconds(TrainingStep(plan, host_c_kernels()), data.images, data.labels, repeats)
        print(f"{name:16} {nb * 1e3:9.1f} {c * 1e3:10.1f} {c / nb:10.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
