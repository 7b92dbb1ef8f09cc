"""Whole training steps: the Numba path over the planned arena (in-place chains, streaming
overlaps, fused blocks) and the host-compiled C kernels over a plan without any reuse must
produce the same parameters, bit for bit; the forward over the arena must equal a plain
layer-by-layer forward."""

import numpy as np
import pytest

from tinybench import kernels as K
from tinybench.graph.schemes import get_scheme, resolve
from tinybench.graph.training import compile_training
from tinybench.kernels.executor import TrainingStep, host_c_kernels
from tinybench.kernels.host import split_weights
from tinybench.models.dataset import digits
from tinybench.models.ir import Add, AvgPool, ConvKind
from tinybench.models.zoo import load_model
from tinybench.plan.memory import plan_memory


@pytest.fixture(scope="module")
def data():
    return digits()[0]


def plain_forward(model, image):
    """Layer by layer into fresh arrays, no arena, no fusion: the reference the plan must match."""
    t = {model.input: image.reshape(-1).copy()}
    for op in model.ops:
        if isinstance(op, Add):
            y = np.zeros(int(np.prod(op.shape)), np.int8)
            K.tb_add_fwd_s8(t[op.inputs[0]], op.a.zero_point, t[op.inputs[1]], op.b.zero_point, y.size,
                            op.multiplier_a, op.multiplier_b, op.shift, op.y.zero_point, y, np.zeros(0, np.uint8))
        elif isinstance(op, AvgPool):
            h, w, c = op.in_shape
            y = np.zeros(c, np.int8)
            K.tb_avgpool_fwd_s8(t[op.input], h, w, c, op.q.zero_point, y)
        else:
            h, w, cin = op.in_shape
            y = np.zeros(int(np.prod(op.out_shape)), np.int8)
            wt, wf = split_weights(op.weight, 0, depthwise=op.groups > 1)
            none = np.zeros(0, np.uint8)
            if op.kind is ConvKind.DEPTHWISE:
                K.tb_depthwise_fwd_s8(t[op.input], h, w, cin, op.x.zero_point, wt, wf, 0, op.bias, op.kernel,
                                      op.stride, op.multiplier, op.shift, op.y.zero_point, y, none)
            elif op.kernel == 1:
                K.tb_pointwise_fwd_s8(t[op.input], h, w, cin, op.x.zero_point, wt, wf, 0, op.bias, op.out_channels,
                                      op.multiplier, op.shift, op.y.zero_point, y, none)
            else:
                K.tb_conv_fwd_s8(t[op.input], h, w, cin, op.x.zero_point, wt, wf, 0, op.bias, op.out_channels,
                                 op.kernel, op.stride, op.multiplier, op.shift, op.y.zero_point, y, none)
        t[op.output] = y
    return t[model.output]


@pytest.mark.parametrize("name", ["mcunet-5fps", "mbv2-w0.35", "proxyless-w0.3"])
def test_arena_forward_equals_plain_forward(name, data):
    m = load_model(name, num_classes=10)
    g = compile_training(m, resolve(get_scheme("49kb", m), m))
    assert any(op.kind == "pwdw_fwd" for op in g.ops) and any(op.inplace for op in g.ops)
    step = TrainingStep(plan_memory(g))
    for i in range(2):
        np.testing.assert_array_equal(step.forward(data.images[i]), plain_forward(m, data.images[i]))


@pytest.mark.parametrize("name", ["mcunet-5fps", "mbv2-w0.35", "proxyless-w0.3"])
def test_three_steps_numba_equal_host_c(name, data):
    m = load_model(name, num_classes=10)
    g = compile_training(m, resolve(get_scheme("49kb", m), m))
    numba = TrainingStep(plan_memory(g))  # greedy plan with in-place reuse
    c = TrainingStep(plan_memory(g, "linear", inplace=False), host_c_kernels())  # no reuse at all
    for i in range(3):
        np.testing.assert_array_equal(numba.step(data.images[i], data.labels[i]),
                                      c.step(data.images[i], data.labels[i]))
    pn, pc = numba.parameters(), c.parameters()
    assert list(pn) == list(pc)
    changed = 0
    for layer in pn:
        np.testing.assert_array_equal(pn[layer][0], pc[layer][0], err_msg=f"{layer} weights")
        np.testing.assert_array_equal(pn[layer][1], pc[layer][1], err_msg=f"{layer} bias")
        conv = next(cv for cv in m.convs if cv.name == layer)
        changed += int(np.count_nonzero(pn[layer][1] != conv.bias))
    assert changed > 0  # the steps did train something


def test_reordered_and_unfused_train_identically(data):
    m = load_model("proxyless-w0.3", num_classes=10)
    r = resolve(get_scheme("49kb", m), m)
    re = TrainingStep(plan_memory(compile_training(m, r, "reordered")))
    un = TrainingStep(plan_memory(compile_training(m, r, "unfused")))
    for i in range(2):
        re.step(data.images[i], data.labels[i])
        un.step(data.images[i], data.labels[i])
    for layer, (w, b) in re.parameters().items():
        np.testing.assert_array_equal(w, un.parameters()[layer][0])
        np.testing.assert_array_equal(b, un.parameters()[layer][1])
