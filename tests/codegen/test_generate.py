"""The generated C places parameters and the arena as the plan says."""

import re

import numpy as np

from tinybench.codegen.generate import generate
from tinybench.graph.schemes import Scheme, resolve
from tinybench.graph.training import compile_training
from tinybench.kernels.executor import TrainingStep
from tinybench.models.builder import build_model
from tinybench.plan.memory import plan_memory


def test_generated_source_follows_the_plan(tmp_path):
    m = build_model("conv:8:3:2 block:2:8:3:1 block:3:16:5:2 classifier:4", (17, 17, 3), seed=2)
    n = len(m.convs) - 1
    g = compile_training(m, resolve(Scheme("s", 3, (n - 2, n - 1), (0.5, 1.0)), m))
    plan = plan_memory(g)
    image = np.arange(17 * 17 * 3, dtype=np.int64).astype(np.int8)
    src = generate(plan, image, 2, tmp_path, lr=0.01, qas=True)
    text = src.path.read_text()
    assert f"TB_ARENA_DEFINE({plan.arena_bytes});" in text
    assert text.count("TB_OP_BEGIN(") == len(g.ops) == len(src.op_names)
    # trained parameters are writable (SRAM), everything else is const (flash)
    for name in src.trainable:
        assert re.search(rf"^static (int8_t|int32_t) {name}\[", text, re.M), name
    frozen = re.findall(r"^static const \w+ (L\d+_\w+)\[", text, re.M)
    assert frozen and not set(frozen) & set(src.trainable)
    # the checksum covers the trained arrays in the order of the host executor's parameters
    host = TrainingStep(plan).parameters()
    expected = [f"L{next(c.index for c in m.convs if c.name == layer)}_{field}"
                for layer, arrays in host.items() for field, a in zip(("w_train", "bias"), arrays) if a.size]
    assert src.trainable == expected
    assert re.findall(r"tb_crc32\(c, (\w+),", text) == expected
    assert "static const int32_t tb_label = 2;" in text
