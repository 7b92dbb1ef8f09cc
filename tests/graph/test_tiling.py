"""Tiled execution of the frozen prefix: bands and halos by hand, bit-identical training steps
(the shipped models, and random models and tilings with Hypothesis), plans of tiled graphs with
no live overlap, and the automatic choice within its cost budget."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinybench.bench.cell import host_reference_checksum
from tinybench.graph.cost import step_cost
from tinybench.graph.schemes import Scheme, get_scheme, resolve
from tinybench.graph.tiling import TilingError, computed, tile_prefix, tiling_cuts, window
from tinybench.graph.training import compile_training
from tinybench.kernels.calls import Tensor, layer_params, op_calls
from tinybench.kernels.executor import TrainingStep
from tinybench.models.builder import build_model
from tinybench.models.dataset import digits
from tinybench.models.zoo import load_model
from tinybench.plan.lifetimes import buffers
from tinybench.plan.memory import plan_memory
from tinybench.plan.planners import get_planner
from tinybench.plan.tiling import AUTO_BUDGET, choose_tiling, parse_tiling


def compile_(model, spec):
    return compile_training(model, resolve(get_scheme(spec, model), model))


def test_halo_windows_by_hand():
    m = build_model("conv:8:3:2 block:2:8:3:1 classifier:3", (16, 16, 3))
    stem = m.convs[0]  # 3x3 stride 2: output rows [a, b) read rows [2a - 1, 2b), start rounded to even
    assert window(stem, (0, 2), 16) == (0, 4)
    assert window(stem, (2, 4), 16) == (2, 8)
    assert window(stem, (7, 8), 16) == (12, 16)
    assert computed(stem, (2, 8)) == (1, 4)  # row 1 reads padding above row 2: computed, never read
    dw = next(c for c in m.convs if c.groups > 1)  # 3x3 stride 1
    assert window(dw, (3, 5), 8) == (2, 6) and computed(dw, (2, 6)) == (2, 6)


def test_band_ops_read_slices_and_assemble_the_output():
    m = build_model("conv:8:3:2 block:2:8:3:1 block:2:8:3:1 classifier:3", (16, 16, 3))
    g = compile_(m, "last-2")
    cut = tiling_cuts(g)[-1]
    t = tile_prefix(g, cut, 3)
    out = t.tiling.output
    assert t.ops[3 * cut:] and [op.name for op in t.ops[-len(g.ops) + cut:]] == [op.name for op in g.ops[cut:]]
    writes = [op.slices[out] for op in t.ops if out in op.outputs]
    row = g.tensors[out].nbytes // g.tensors[out].shape[0]
    assert [w[0] // row for w in writes] == [0, 2, 5] and sum(w[1] for w in writes) == g.tensors[out].nbytes
    first = [op for op in t.ops if m.input in op.inputs]
    assert len(first) == 3 and all(m.input in op.slices for op in first)
    calls = op_calls(t, first[1], layer_params(t, 0.01, True))
    image = next(a for a in calls[-1].args if isinstance(a, Tensor) and a.name == m.input)
    assert image.offset == first[1].slices[m.input][0] and image.nbytes == first[1].slices[m.input][1]


def test_bad_tilings_name_the_problem():
    m = load_model("mcunet-5fps", num_classes=10)
    g = compile_(m, "49kb")
    with pytest.raises(TilingError, match="first 30 ops of mcunet-5fps cannot run per band"):
        tile_prefix(g, 30, 2)
    with pytest.raises(TilingError, match="99 tiles for blocks\\[0\\].pointwise2.out of 64 rows"):
        tile_prefix(g, 3, 99)
    with pytest.raises(ValueError, match="'4x2' is not one of auto, none, min-memory, N:TILES"):
        parse_tiling("4x2")
    assert parse_tiling("4:2") == (4, 2) and parse_tiling("none") == "none"


@pytest.fixture(scope="module")
def sample():
    split = digits(size=128)[0]
    return split.images[0], int(split.labels[0])


@pytest.mark.slow
@pytest.mark.parametrize("name,spec", [("mcunet-5fps", "99kb"), ("mbv2-w0.35", "99kb"), ("proxyless-w0.3", "98kb")])
def test_tiled_steps_of_the_models_are_bit_identical(name, spec, sample):
    m = load_model(name, num_classes=10)
    g = compile_(m, spec)
    reference = host_reference_checksum(TrainingStep(plan_memory(g)), *sample, steps=3)
    auto = choose_tiling(g)  # auto may keep the step untiled (proxyless: no tiling plans smaller)
    deep = max(n for n in tiling_cuts(g) if g.tensors[g.ops[n - 1].outputs[0]].shape[0] >= 16)
    for graph in [auto.graph] * (auto.graph.tiling is not None) + [tile_prefix(g, deep, 7)]:
        assert graph.tiling is not None
        assert host_reference_checksum(TrainingStep(plan_memory(graph)), *sample, steps=3) == reference
    exact = choose_tiling(g, planner="exact").plan  # the solver packs tensors the search keeps apart
    assert host_reference_checksum(TrainingStep(exact), *sample, steps=3) == reference


@pytest.mark.parametrize("name,spec", [("mcunet-5fps", "99kb"), ("proxyless-w0.3", "98kb")])
def test_auto_tiling_is_never_worse_than_none(name, spec):
    g = compile_(load_model(name, num_classes=10), spec)
    auto = choose_tiling(g)
    assert auto.plan.arena_bytes <= choose_tiling(g, "none").plan.arena_bytes
    assert auto.extra_cost <= AUTO_BUDGET * auto.step_cost


def test_auto_tiling_lowers_the_floor_within_its_budget():
    m = load_model("mbv2-w0.35", num_classes=10)
    g = compile_(m, "99kb")
    auto = choose_tiling(g)
    assert auto.graph.tiling and auto.floor_bytes < auto.untiled_floor_bytes
    assert 0 < auto.extra_cost <= AUTO_BUDGET * step_cost(g) and auto.plan.arena_bytes < plan_memory(g).arena_bytes
    least = choose_tiling(g, "min-memory")
    assert least.plan.arena_bytes <= auto.plan.arena_bytes
    none = choose_tiling(g, "none")
    assert none.graph is g and none.extra_cost == 0


layer = st.one_of(
    st.tuples(st.just("conv"), st.integers(1, 6), st.sampled_from([1, 3]), st.integers(1, 2)),
    st.tuples(st.just("block"), st.integers(1, 3), st.integers(1, 6), st.sampled_from([3, 5]), st.integers(1, 2)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=st.lists(layer, min_size=2, max_size=5), size=st.integers(6, 14), n_update=st.integers(1, 3),
       data=st.data(), planner=st.sampled_from(["search", "exact", "greedy-size", "first-fit"]))
def test_random_tilings_plan_without_overlap_and_train_bit_identical(layers, size, n_update, data, planner):
    spec = "conv:4:3:2 " + " ".join(":".join(map(str, l)) for l in layers) + " classifier:3"
    m = build_model(spec, (size, size, 3))
    n = len(m.convs) - 1
    scheme = Scheme("random", n_update, tuple(range(n - n_update, n)), (0.5,) * n_update)
    g = compile_training(m, resolve(scheme, m))
    cuts = tiling_cuts(g)
    if not cuts:
        return
    cut = data.draw(st.sampled_from(cuts))
    tiles = data.draw(st.integers(2, g.tensors[g.ops[cut - 1].outputs[0]].shape[0]))
    t = tile_prefix(g, cut, tiles)
    plan = plan_memory(t, planner)
    p = get_planner(planner)
    for b in plan.buffers:
        p.add_group([(x.offset, x.size, x.first, x.last) for x in b.parts])
    assert p.overlapping_pairs() == [] and plan.arena_bytes >= plan.floor_bytes
    assert all(0 <= o and o + t.tensors[n_].nbytes <= plan.arena_bytes for n_, o in plan.offsets.items())
    assert {x.tensor for b in buffers(t) for x in b.parts} == set(t.tensors)
    rng = np.random.default_rng(size)
    image = rng.integers(-128, 128, (size, size, 3), dtype=np.int8)
    untiled = host_reference_checksum(TrainingStep(plan_memory(g, "linear", inplace=False)), image, 1, steps=2)
    assert host_reference_checksum(TrainingStep(plan), image, 1, steps=2) == untiled
