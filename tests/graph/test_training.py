"""The compiled training step: the right backward ops, dtypes and schedules, and the paper's
memory claims (reordering < unfused; full update >> sparse)."""

import pytest

from tinybench.graph.schemes import get_scheme, published_schemes, resolve
from tinybench.graph.training import Category, Schedule, compile_training
from tinybench.models.builder import build_model
from tinybench.models.zoo import load_model, model_names
from tinybench.plan.memory import memory_report, plan_memory

MODELS = model_names()


def compile_(model, spec, schedule="reordered", precision="int8"):
    return compile_training(model, resolve(get_scheme(spec, model), model), schedule, precision)


@pytest.fixture(scope="module")
def models():
    return {name: load_model(name, num_classes=10) for name in MODELS}


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("spec", ["full", "bias-only", "last-1", "last-7"])
@pytest.mark.parametrize("schedule", ["reordered", "unfused"])
def test_builtin_schemes_compile(models, name, spec, schedule):
    g = compile_(models[name], spec, schedule)
    assert memory_report(plan_memory(g)).peak_sram_bytes > 0


def test_backward_stops_at_the_earliest_updating_layer(models):
    m = models["mcunet-5fps"]
    g = compile_(m, "49kb")
    earliest = m.convs[g.scheme.earliest]
    kinds = {(op.kind, op.layer) for op in g.ops}
    assert ("conv_bwd_update", earliest.name) in kinds
    assert ("conv_bwd_input", earliest.name) not in kinds  # no gradient flows further back
    bwd_layers = {op.layer for op in g.ops if op.kind.startswith("conv_bwd")}
    assert all(c.index >= earliest.index for c in m.convs if c.name in bwd_layers)
    for c in m.convs:
        if c.index in g.scheme.updates:
            assert ("conv_bwd_update", c.name) in kinds


def test_saved_inputs_hold_only_updated_channels(models):
    m = models["mcunet-5fps"]
    g = compile_(m, "49kb")
    conv = m.convs[24]  # ratio 1/4
    saved = g.tensors[f"saved:{conv.name}"]
    assert saved.shape == conv.in_shape[:2] + (conv.in_channels // 4,)
    assert saved.category is Category.SAVED
    masks = [t for t in g.tensors.values() if t.category is Category.MASK]
    assert all(t.dtype == "bit" and t.nbytes == (t.elements + 7) // 8 for t in masks)


def test_dtypes_follow_gradient_precision(models):
    m = models["proxyless-w0.3"]
    int8 = compile_(m, "98kb", "unfused", "int8")
    fp32 = compile_(m, "98kb", "unfused", "fp32")
    act_grads = [t for t in int8.tensors.values() if t.name.startswith("grad")]
    assert act_grads and all(t.dtype == "int8" for t in act_grads)
    assert all(t.dtype == "int32" for t in int8.tensors.values() if t.name.startswith(("wgrad", "bgrad")))
    assert all(t.dtype == "float32" for t in fp32.tensors.values() if t.category is Category.GRADIENT)
    assert memory_report(plan_memory(fp32)).arena_bytes > memory_report(plan_memory(int8)).arena_bytes


@pytest.mark.parametrize("name", MODELS)
def test_weight_gradients_hold_the_updated_weights_only(models, name):
    # as many elements as the weights the update writes: a depthwise filter's first k channels
    # (the kernel's grad_w [k, kernel, kernel]), a dense one's first k input channels
    m = models[name]
    g = compile_(m, "full", "unfused")
    convs = {c.name: c for c in m.convs}
    wgrads = [(op.layer, op.outputs[1]) for op in g.ops if op.kind == "conv_bwd_params" and len(op.outputs) > 1]
    assert any(convs[layer].groups > 1 for layer, _ in wgrads)
    for layer, t in wgrads:
        c, k = convs[layer], g.scheme.weight_channels(convs[layer].index)
        updated = c.weight[:k] if c.groups > 1 else c.weight[..., :k]
        assert g.tensors[t].elements == updated.size, layer

def test_reordered_keeps_no_parameter_gradient_and_unfused_updates_last(models):
    m = models["mbv2-w0.35"]
    re = compile_(m, "99kb", "reordered")
    un = compile_(m, "99kb", "unfused")
    assert not any(t.startswith(("wgrad", "bgrad")) for t in re.tensors)
    assert not any(op.kind == "sgd_update" for op in re.ops)
    tail = [op.kind for op in un.ops][-len(un.scheme.updates):]
    assert tail == ["sgd_update"] * len(un.scheme.updates)
    # reordered: each layer's update immediately follows its gradient ops
    for i, op in enumerate(re.ops):
        if op.kind == "conv_bwd_update":
            assert re.ops[i - 1].layer == op.layer or re.ops[i - 1].kind in ("add_bwd", "loss_grad", "grad_add",
                                                                              "avgpool_bwd", "conv_bwd_input")


def test_skip_input_before_the_window_gets_no_gradient():
    m = build_model("conv:8:3:2 block:2:8:3:1 block:2:8:3:1 classifier:3", (9, 9, 3))
    add = [op for op in m.ops if hasattr(op, "inputs")][-1]
    pw2 = m.producer(add.inputs[1])
    g = compile_(m, f"last-{len(m.convs) - pw2.index}")  # pw2 of the last block and the head
    grads = {t.split(":", 1)[1] for t in g.tensors if t.startswith("grad")}
    assert add.inputs[0] not in grads  # the block input: before the window, no gradient
    kinds = [(op.kind, op.layer) for op in g.ops]
    assert ("add_bwd", add.name) in kinds and ("conv_bwd_update", pw2.name) in kinds
    assert ("conv_bwd_input", pw2.name) not in kinds and not any(k == "grad_add" for k, _ in kinds)


def test_nothing_updated_compiles_to_the_forward_only():
    m = build_model("conv:4:3:1 classifier:2", (5, 5, 3))
    from tinybench.graph.schemes import Scheme
    g = compile_training(m, resolve(Scheme("none", 0, classifier="none"), m))
    assert [op.kind for op in g.ops] == ["conv_fwd", "avgpool_fwd", "conv_fwd"]


@pytest.mark.parametrize("scheme", published_schemes(), ids=lambda s: s.label)
def test_reordering_needs_less_peak_sram_than_unfused(models, scheme):
    m = models[scheme.model]
    peaks = {s: memory_report(plan_memory(compile_(m, scheme.label, s))).peak_sram_bytes for s in Schedule}
    assert peaks[Schedule.REORDERED] < peaks[Schedule.UNFUSED]


@pytest.mark.parametrize("name", MODELS)
def test_full_update_needs_over_five_times_the_largest_sparse_scheme(models, name):
    m = models[name]
    sparse = max(memory_report(plan_memory(compile_(m, s.label))).peak_sram_bytes
                 for s in published_schemes() if s.model == name)
    full = memory_report(plan_memory(compile_(m, "full"))).peak_sram_bytes
    assert full > 5 * sparse


def test_a_strided_pointwise_is_not_fused():
    # tb_pwdw_fwd_s8 computes the pointwise at every input position: only stride 1 fits its plane
    m = build_model("conv:4:3:2 conv:2:1:2 block:1:1:3:1 classifier:3", (6, 6, 3))
    g = compile_(m, "last-1")
    assert not any(op.kind == "pwdw_fwd" and op.attrs["pointwise"] == "layers[1].pointwise" for op in g.ops)
