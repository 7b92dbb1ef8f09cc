"""The estimator against the ISS on work it was not fitted to: the paper's models (a sample of
cells; benchmarks/estimator_accuracy.py runs all of them) and random architectures, for both
kernel sets (each with its own calibration; the fast set's twins follow the fast loops).

Tolerances (issue 7): instructions of the steps within 2%, cycles within 3%, at least 95% of the
ops within 5% in both, peak SRAM and flash within 1% (fast kernels: peak SRAM at most
1% under and FAST_STACK_SLACK over).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinybench.bench.cell import CellConfig, run_cell
from tinybench.codegen.firmware import build_training_firmware
from tinybench.emulate import get_backend
from tinybench.estimate import load_calibration, predict
from tinybench.graph.schemes import Scheme, get_scheme, resolve
from tinybench.graph.training import compile_training
from tinybench.models.builder import build_model
from tinybench.plan.memory import plan_memory

CELLS = [("mbv2-w0.35", "49kb", "stm32f746", "reference"), ("proxyless-w0.3", "last-4", "nrf52840", "reference"),
         ("mcunet-5fps", "49kb", "nrf52840", "fast"), ("mbv2-w0.35", "last-4", "stm32f746", "fast")]


def _ops_within(pairs, tolerance=0.05) -> float:
    return float(np.mean([abs(p / m - 1) <= tolerance for p, m in pairs]))


@pytest.fixture(scope="module", params=CELLS, ids=lambda c: "-".join(c))
def paper_cell(request):
    model, scheme, target, kernels = request.param
    return run_cell(CellConfig(model, scheme, target, kernels=kernels))


def test_paper_models_within_tolerance(paper_cell):
    r = paper_cell
    assert r.status == "ok", r.reason
    e = r.error
    assert abs(e["instructions"]) <= 0.02 and abs(e["cycles"]) <= 0.03, e
    assert abs(e["peak_sram_bytes"]) <= 0.01 and abs(e["flash_bytes"]) <= 0.01, e
    ops = [o for o in r.profile if o["instructions"]]
    assert _ops_within((o["predicted_instructions"], o["instructions"]) for o in ops) >= 0.95
    assert _ops_within((o["predicted_cycles"], o["cycles"]) for o in ops) >= 0.95


#: Bytes of stack of the fast kernels' deep paths that a small step's calls may never take: the
#: estimator counts each kernel's deepest chain, so it may overstate peak SRAM by this much (and
#: understate it by the 1% of the reference set: the stack's base is fitted).
FAST_STACK_SLACK = 1024

ARCHITECTURES = [
    ("conv:12:5:2 block:3:13:7:2 block:3:13:3:1 block:2:21:5:1 block:4:21:3:2 classifier:6", 37, "last-5"),
    ("conv:7:7:1 dw:5:2 pw:11 block:2:11:3:1 block:3:18:7:2 classifier:3", 29, Scheme("mixed", 4, (6, 7), (0.5, 1.0))),
    ("conv:9:3:2 block:1:9:5:1 block:5:14:3:2 block:2:14:7:1 classifier:10", 43, "bias-only"),
]


@pytest.mark.parametrize("spec, size, scheme", ARCHITECTURES, ids=["odd-strides", "7x7-mixed", "bias-only"])
@pytest.mark.parametrize("target, kernels", [("stm32f746", "reference"), ("nrf52840", "reference"),
                                             ("stm32f746", "fast"), ("nrf52840", "fast")])
def test_random_architectures_within_tolerance(spec, size, scheme, target, kernels, tmp_path):
    model = build_model(spec, (size, size, 3), seed=size)
    s = get_scheme(scheme, model) if isinstance(scheme, str) else scheme
    plan = plan_memory(compile_training(model, resolve(s, model), "reordered"))
    image = np.random.default_rng(size).integers(-128, 128, (size, size, 3)).astype(np.int8)
    prediction, _ = predict(plan, image, 1, 2, lr=0.01, qas=True, cal=load_calibration(target, kernels))
    _, build = build_training_firmware(plan, image, 1, target, "qemu", tmp_path, steps=2, lr=0.01, qas=True,
                                       kernels=kernels)
    run = get_backend("iss").run(build.elf, target)
    assert run.status == "ok", run.reason
    steps = run.counted_steps()
    assert abs(prediction.instructions / sum(s.total.instructions for s in steps) - 1) <= 0.02
    assert abs(prediction.cycles / sum(s.total.cycles for s in steps) - 1) <= 0.03
    ops = steps[-1].ops
    est = prediction.steps[-1].ops
    assert _ops_within((o.instructions, ops[o.index].instructions) for o in est) >= 0.95
    assert _ops_within((o.cycles, ops[o.index].cycles) for o in est) >= 0.95
    measured_peak = build.sram_static_bytes + run.arena_used + run.stack_bytes
    if kernels == "reference":
        assert abs(prediction.memory.peak_sram_bytes / measured_peak - 1) <= 0.01
    else:  # the stack of the deepest path of each fast kernel: an upper bound (docs/estimator.md)
        assert -0.01 * measured_peak <= prediction.memory.peak_sram_bytes - measured_peak <= FAST_STACK_SLACK
    assert abs(prediction.memory.flash_bytes / build.flash_bytes - 1) <= 0.01
