"""The compact model definition builds valid IR graphs."""

import pytest

from tinybench.models.builder import ModelSpecError, build_model
from tinybench.models.ir import Add, AvgPool, ConvKind


def test_spec_builds_blocks_with_residuals():
    m = build_model("conv:8:3:2 block:2:8:3:1 block:3:16:5:2 classifier:4", (17, 17, 3), seed=3)
    kinds = [type(op).__name__ if not hasattr(op, "kind") else op.kind.value for op in m.ops]
    assert kinds == ["conv", "pointwise", "depthwise", "pointwise", "Add", "pointwise", "depthwise",
                     "pointwise", "AvgPool", "classifier"]
    assert m.tensors[m.convs[0].output].shape == (9, 9, 8)
    assert m.tensors[m.output].shape == (1, 1, 4)
    assert isinstance(m.ops[4], Add) and isinstance(m.ops[-2], AvgPool)
    assert m.convs[-1].kind is ConvKind.CLASSIFIER
    # every conv reads the tensor its predecessor wrote, with that tensor's quantization
    for conv in m.convs:
        assert conv.x == m.tensors[conv.input].q


@pytest.mark.parametrize("spec, message", [
    ("conv:8:3:2", "must end with a classifier"),
    ("conv:8:2:1 classifier:2", "odd kernel"),
    ("warp:3 classifier:2", "unknown layer 'warp'"),
    ("conv:8:x:1 classifier:2", "bad layer"),
])
def test_bad_specs(spec, message):
    with pytest.raises(ModelSpecError, match=message):
        build_model(spec)
