"""The count twins: one per kernel, and the profile of a model counts every scheme exactly as a
host run of that scheme's own step does (step 0)."""

from __future__ import annotations

import numpy as np
import pytest

from tinybench.estimate.counts import COUNTS, FAST_COUNTS, run_and_count
from tinybench.estimate.profile import DataProfile, count_graph
from tinybench.estimate.step import count_steps
from tinybench.graph.schemes import Scheme, get_scheme, resolve
from tinybench.graph.training import compile_training
from tinybench.kernels import KERNELS
from tinybench.kernels.host_c import parse_header
from tinybench.models.builder import build_model
from tinybench.plan.memory import plan_memory


def test_every_kernel_has_a_twin_with_its_name_and_parameters():
    import inspect

    assert set(COUNTS) == set(KERNELS)
    for name, model in COUNTS.items():
        assert model.twin.__name__ == name
        params = [p for p in inspect.signature(model.twin).parameters if p != "probe"]
        assert params == [p.name for p in parse_header()[name].params], name
        assert len(set(model.features)) == len(model.features), f"{name}: repeated feature names"


def test_fast_twins_have_their_kernels_parameters_and_count_the_padded_macs():
    import inspect

    for name, model in FAST_COUNTS.items():
        params = [p for p in inspect.signature(model.twin).parameters if p != "probe"]
        assert model.twin.__name__ == name and params == [p.name for p in parse_header()[name].params], name
        assert len(set(model.features)) == len(model.features), name
    # the stem (3 channels, 3x3, stride 2) of an odd width, 5 output channels: 4 x 4 outputs in
    # 4 x 2 position pairs x (2 channel pairs and a single channel), 2 x 2 windows inside; split
    # (k_train = 1) it takes the general path: rows of 9 and 18 weights are 2 and 4 whole words
    # and a tail each
    rng = np.random.default_rng(0)
    h, w, c_out = 7, 7, 5
    wts = rng.integers(-128, 128, (c_out, 3, 3, 3)).astype(np.int8)
    got = {}
    for k_train in (0, 1):
        args = [rng.integers(-128, 128, h * w * 3).astype(np.int8), h, w, 3, -128,
                np.ascontiguousarray(wts[..., :k_train]).ravel(), np.ascontiguousarray(wts[..., k_train:]).ravel(),
                k_train, np.zeros(c_out, np.int32), c_out, 3, 2, np.full(c_out, 2**30, np.int32),
                np.full(c_out, 38, np.int32), 0, np.zeros(4 * 4 * c_out, np.int8), np.zeros(10, np.uint8)]
        got[k_train] = dict(zip(FAST_COUNTS["tb_conv_fwd_s8"].features,
                                run_and_count("tb_conv_fwd_s8", args, kernel_set="fast").counts))
    stem, split = got[0], got[1]
    assert (stem["stem_pairs"], stem["stem_channel_pairs"], stem["stem_odd_channels"]) == (8, 16, 8)
    assert (stem["stem_positions"], stem["stem_positions_inside"], stem["stem_edge_positions"]) == (16, 4, 12)
    assert stem["stem_pairs_masked"] == 8 and stem["stem_fit_channels"] == 5
    assert stem["position_pairs"] == stem["tiles"] == 0 and stem["calls"] == stem["stem_calls"] == 1
    assert (split["position_pairs"], split["tiles"], split["dot_groups"], split["dot_tails"]) == (8, 24, 24 * 6, 48)
    assert split["gathers"] == 32 and split["widen_groups"] == 8 * 8 and split["stem_calls"] == 0
    assert (split["store_pairs"], split["store_singles"], split["pairs_masked"]) == (32, 16, 32)
    assert split["singles_fitting_masked"] == split["singles_fitting"] <= 16


def _pointwise_call(rng, h, w, c_in, k_train, c_out):
    wts = rng.integers(-128, 128, (c_out, c_in)).astype(np.int8)
    return [rng.integers(-128, 128, h * w * c_in).astype(np.int8), h, w, c_in, 3,
            np.ascontiguousarray(wts[:, :k_train]).ravel(), np.ascontiguousarray(wts[:, k_train:]).ravel(), k_train,
            np.zeros(c_out, np.int32), c_out, np.full(c_out, 2**30, np.int32), np.full(c_out, 38, np.int32), 0,
            np.zeros(h * w * c_out, np.int8), np.zeros((h * w * c_out + 7) // 8, np.uint8)]


def test_fast_pointwise_twin_counts_every_mac_on_both_paths():
    """Usual path (16 output channels): 3 x 5 positions in 8 pairs (the odd last one computed
    twice), each pair widened once, then 8 tiles of 2 x 2 outputs per pair; split weights (5 + 8
    channels) as two parts, padded to 8 + 8 (the padded path: 4 assembly tiles per pair over the
    padded lengths, the last 4 in C over the exact ones). General path (5 output channels): every
    output alone."""
    rng = np.random.default_rng(0)
    h, w, c_in = 3, 5, 13
    pairs, tiles = 8, 8 * 8
    got = dict(zip(FAST_COUNTS["tb_pointwise_fwd_s8"].features,
                   run_and_count("tb_pointwise_fwd_s8", _pointwise_call(rng, h, w, c_in, 0, 16),
                                 kernel_set="fast").counts))
    assert (got["usual_calls"], got["pairs"], got["general_calls"]) == (1, pairs, 0)
    assert 8 * got["widen_steps8"] + 4 * got["widen_steps4"] + got["widen_rest"] == pairs * c_in
    assert 4 * got["steps"] + got["one_rest"] == tiles * c_in  # 4 MACs per channel of a tile
    assert got["tiles_one_part"] == tiles == got["tiles_masked"]
    got = dict(zip(FAST_COUNTS["tb_pointwise_fwd_s8"].features,
                   run_and_count("tb_pointwise_fwd_s8", _pointwise_call(rng, h, w, c_in, 5, 16),
                                 kernel_set="fast").counts))
    assert (got["usual_calls"], got["padded_calls"], got["padded_pairs"]) == (0, 1, pairs)
    assert got["padded_tiles"] == got["padded_tiles_masked"] == tiles // 2
    assert 4 * got["steps"] + got["padded_tail_rest"] == tiles // 2 * 16 + tiles // 2 * c_in
    got = dict(zip(FAST_COUNTS["tb_pointwise_fwd_s8"].features,
                   run_and_count("tb_pointwise_fwd_s8", _pointwise_call(rng, h, w, c_in, 0, 5),
                                 kernel_set="fast").counts))
    assert (got["usual_calls"], got["general_calls"], got["outputs"]) == (0, 1, h * w * 5)
    assert 4 * got["words"] + got["bytes"] == h * w * 5 * c_in
    assert got["outputs_fitting"] <= got["outputs_masked"] == h * w * 5


def test_fast_depthwise_input_gradient_twin_counts_windows_taps_and_growths():
    """5 x 5 inputs, stride 1, 5 channels (a group of 4 and a single one). All-zero gradients keep
    the shift at 0: one run per step, every output by the 64-bit path at n = 0; 3x3 takes whole
    windows from the bordered plane, 7x7 the taps of the plane (23 per axis: 4 + 5 + 5 + 5 + 4);
    the single channel 13 taps per axis with 3x3. Gradients growing along the order make the
    shift grow: the group runs again, and is written again after the single channel's growth."""
    h = w = 5
    c = 5

    def counts(grad, mask, k, factor=1000):
        rng = np.random.default_rng(0)
        args = [grad, -10, mask, h, w, c, np.full(2 * k * k, 100, np.int8), np.full(3 * k * k, 100, np.int8), 2,
                k, 1, np.full(c, factor, np.int32), -12, rng.integers(-128, 128, h * w * c).astype(np.int8)]
        return dict(zip(FAST_COUNTS["tb_depthwise_bwd_input_s8"].features,
                        run_and_count("tb_depthwise_bwd_input_s8", args, kernel_set="fast").counts))

    zero = np.zeros(h * w * c, np.int8)
    got = counts(zero, np.zeros(0, np.uint8), 3)
    assert (got["visits4"], got["visits1"], got["pack_taps"], got["planes"], got["growths"]) == (1, 1, 9, 1, 0)
    assert (got["groups_trained_0"], got["groups_trained_1"], got["groups_trained_2"]) == (1, 1, 0)
    assert got["windows_s1_k3"] == got["positions4"] == 25 and got["taps4p"] == 0
    assert got["taps1"] == got["taps1_passed"] == 169 and got["taps1_masked"] == 0
    assert (got["slow_n0"], got["fast4"], got["runs4_q0"], got["runs1_q0"]) == (25 * c, 0, 1, 1)
    got = counts(zero, np.zeros(0, np.uint8), 7)
    assert got["taps4p"] == 23 * 23 and got["windows_s1_k3"] == 0
    half = np.packbits(np.arange(h * w * c) % 2 == 0, bitorder="little")
    got = counts(zero, half, 3)
    assert got["taps1_masked"] == 169 and 0 < got["taps1_passed"] < 169
    grad = np.ones(h * w * c, np.int8)
    grad[4::c] = 100  # the single channel's accumulators are the largest
    got = counts(grad, np.zeros(0, np.uint8), 3)
    assert got["growths"] >= 2 and (got["visits4"], got["visits1"]) == (2, 1)
    # from shift 18 on the group's runs take the tight loop (tb_dwbi_rows_s1)
    assert got["windows_s1_k3"] == got["positions4"] and got["positions4"] + got["tight_positions_k3"] > 2 * 25
    # the steps of the search sum to the final shift, 20: 9 taps x 100 x 100 x 1000 < 255 * 2^19
    assert got["shift_steps"] == 20 and got["runs4_qmid"] >= 1 and got["tight_positions_k3"] >= 25


def test_fast_depthwise_twin_counts_groups_edges_and_single_channels():
    """6 x 6, 3x3, stride 1, 10 channels: channels 0-3 a group (shifts above 32; all frozen),
    4-7 one by one (channel 5's shift is 30: the group test stops there, and the 64-bit
    requantization), 8-9 the tail. The group's rows 0 and 5 have 2 tap rows (interior windows
    straight, one tap row short), rows 1-4 whole interior windows (columns 1-4); rows 0-4 keep every bottom tap row;
    columns 0 and 5 are edge windows of 2 tap columns, column 0 clipped on the left."""
    rng = np.random.default_rng(0)
    c = 10
    shift = np.full(c, 38, np.int32)
    shift[5] = 30
    args = [rng.integers(-128, 128, 36 * c).astype(np.int8), 6, 6, c, 3, np.zeros(0, np.int8),
            rng.integers(-128, 128, c * 9).astype(np.int8), 0, np.zeros(c, np.int32), 3, 1,
            np.full(c, 2**30, np.int32), shift, 0, np.zeros(36 * c, np.int8), np.zeros(45, np.uint8)]
    got = dict(zip(FAST_COUNTS["tb_depthwise_fwd_s8"].features,
                   run_and_count("tb_depthwise_fwd_s8", args, kernel_set="fast").counts))
    assert (got["calls_masked"], got["mask_bytes_cleared"], got["calls_narrow"]) == (1, 45, 0)
    assert (got["blocks"], got["shift_checks"], got["groups"], got["pack_taps"]) == (3, 4 + 2, 1, 9)
    assert (got["pack_frozen_1"], got["pack_frozen_2"], got["pack_frozen_3"], got["group_rows_bottom"]) == \
        (0, 0, 1, 5)
    assert (got["edge_calls_left"], got["edge_calls_right"], got["edge_windows"], got["edge_windows_left"]) == \
        (6, 6, 12, 6)
    assert [got[f"edge_rows_{n}"] for n in range(1, 7)] == [0, 32, 0, 0, 0, 0]
    assert (got["whole_rows_3"], got["part_rows_3"], got["empty_whole_rows_3"], got["empty_part_rows_3"]) == \
        (4, 2, 0, 0)
    assert (got["whole_windows_3"], got["part_windows_3"], got["near_windows_3"], got["part_tap_rows_3"],
            got["whole_windows_5"]) == (16, 8, 8, 0, 0)
    assert (got["stores_masked_edge"], got["stores_masked_whole_3"], got["stores_masked_part_3"]) == (12, 16, 8)
    assert got["stores_next_byte"] == 9  # i = 10 p: i % 8 = 6 for p % 4 = 3
    assert (got["channels"], got["channel_windows"], got["channel_taps"], got["channel_requant_64bit"]) == \
        (6, 216, 6 * 16 * 16, 36)
    assert (got["channel_rows_bottom"], got["channel_windows_left"], got["channel_stores_masked"]) == (30, 36, 216)


def _fused_args(h: int, w: int, c_in: int = 16) -> list:
    """tb_pwdw_fwd_s8 on an h x w plane, c_in input channels, 3x3 stride 1, no mask, 2 channels (one
    whose bias could saturate: its requantization is the general one)."""
    rng = np.random.default_rng(0)
    c_mid = 2
    n = h * w * c_mid
    return [rng.integers(-128, 128, h * w * c_in).astype(np.int8), h, w, c_in, 3,
            rng.integers(-128, 128, c_mid * c_in).astype(np.int8), np.array([100, 2**31 - 10], np.int32),
            np.full(c_mid, 2**30, np.int32), np.full(c_mid, 38, np.int32), -128, c_mid, np.zeros(h * w, np.int8),
            rng.integers(-128, 128, c_mid * 9).astype(np.int8), np.array([-50, 2**31 - 10], np.int32), 3, 1,
            np.full(c_mid, 2**30, np.int32), np.full(c_mid, 40, np.int32), 0, np.zeros(n, np.int8),
            np.zeros(0, np.uint8)]


def test_fast_fused_twin_counts_runs_frame_and_quads():
    """A 46 x 9 plane: too large for the bordered copy (48 x 11 bytes)."""
    h, w = 46, 9
    got = dict(zip(FAST_COUNTS["tb_pwdw_fwd_s8"].features,
                   run_and_count("tb_pwdw_fwd_s8", _fused_args(h, w), kernel_set="fast").counts))
    # pointwise: 103 quads of 2 steps (assembly) for the fast channel, C quads for the other, 2 last positions
    assert (got["pw_asm_quads"], got["pw_asm_steps"], got["pw_c_quads"], got["pw_c_groups"]) == (103, 206, 103, 412)
    assert (got["pw_tail_positions"], got["pw_general_outputs"]) == (4, h * w)
    # depthwise, fast channel: the 6 inner columns (the words of ox = 1 .. 6 stay inside the 9-byte
    # rows): their 44 full rows one grid of 3 pairs per row, the top and bottom rows a run each
    # (against zero filter rows); the 3 edge columns in runs of their 44 full-height windows, their
    # top and bottom windows one by one
    assert got["padded_calls"] == got["padded_channels"] == 0
    assert (got["grid3_calls"], got["grid3_rows"], got["grid3_pairs_s1"], got["grid3_odd_rows"]) == (1, 44, 132, 0)
    assert (got["run_calls_k3"], got["run_windows_k3"]) == (2 + 3, 2 * 6 + 3 * 44)
    assert got["single_windows_1word"] + got["tap_windows"] == 3 * 2 + h * w
    assert got["dw_general_outputs"] == h * w


def test_fast_fused_twin_counts_the_bordered_plane():
    """A 10 x 9 plane: the fast channel's depthwise part from its bordered copy (12 x 11 bytes), every
    row 4 pairs and an odd last window; the general channel window by window."""
    h, w = 10, 9
    got = dict(zip(FAST_COUNTS["tb_pwdw_fwd_s8"].features,
                   run_and_count("tb_pwdw_fwd_s8", _fused_args(h, w), kernel_set="fast").counts))
    assert (got["padded_calls"], got["padded_fill_words"], got["padded_channels"]) == (1, (12 * 11 + 4) // 4, 1)
    assert (got["padded_copy_rows"], got["padded_copy_words"], got["padded_copy_bytes"]) == (10, 20, 10)
    assert (got["grid3_calls"], got["grid3_rows"], got["grid3_pairs_s1"], got["grid3_odd_rows"]) == (1, 10, 40, 10)
    assert got["run_calls_k3"] == got["dw_inner_runs"] == 0
    assert got["single_windows_1word"] + got["tap_windows"] == h * w
    # 8 input channels: the fast channel's 22 quads in the loop with the weights in registers
    got = dict(zip(FAST_COUNTS["tb_pwdw_fwd_s8"].features,
                   run_and_count("tb_pwdw_fwd_s8", _fused_args(h, w, 8), kernel_set="fast").counts))
    assert (got["pw_q8_channels"], got["pw_q8_quads"], got["pw_asm_quads"], got["pw_c_quads"]) == (1, 22, 0, 22)


def test_counts_follow_the_data():
    """A mask bit that skips work changes the count; the kernel's results do not change."""
    rng = np.random.default_rng(0)
    h = w = 3
    c_in, c_out = 4, 5
    grad = rng.integers(-20, 21, h * w * c_out).astype(np.int8)
    full = np.full((h * w * c_out + 7) // 8, 255, np.uint8)
    half = full.copy()
    half[::2] = 0
    args = lambda mask: [grad, -7, mask, h, w, c_in, np.zeros(0, np.int8),
                         rng.integers(-128, 128, c_out * c_in).astype(np.int8), 0, c_out,
                         np.full(c_out, 1 << 14, np.int32), -20, np.zeros(h * w * c_in, np.int8)]
    features = COUNTS["tb_pointwise_bwd_input_s8"].features
    a, b = run_and_count("tb_pointwise_bwd_input_s8", args(full)), run_and_count("tb_pointwise_bwd_input_s8", args(half))
    passed = features.index("passed_frozen")
    assert a.counts[passed] == 2 * c_in * h * w * c_out  # two passes, every bit set
    assert b.counts[passed] < a.counts[passed]
    assert a.counts[features.index("channels_frozen")] == b.counts[features.index("channels_frozen")]


MODEL = "conv:8:3:2 block:2:8:3:1 block:3:12:5:2 block:2:12:3:1 block:2:13:7:1 classifier:5"


@pytest.fixture(scope="module")
def profiled():
    model = build_model(MODEL, (21, 21, 3), seed=3)
    image = np.random.default_rng(1).integers(-128, 128, (21, 21, 3)).astype(np.int8)
    return model, image, DataProfile.of(model, image, 2, lr=0.01, qas=True)


SCHEMES = [
    "last-3", "bias-only", "full", "last-7",
    Scheme("partial", 6, (9, 11, 12), (0.5, 0.125, 1.0)),
    Scheme("depthwise", 8, (7, 10), (1.0, 0.25)),
]


@pytest.mark.parametrize("schedule", ["reordered", "unfused"])
@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: s if isinstance(s, str) else s.name)
def test_profile_counts_equal_a_host_run_of_the_scheme(profiled, scheme, schedule):
    model, image, profile = profiled
    s = get_scheme(scheme, model) if isinstance(scheme, str) else scheme
    plan = plan_memory(compile_training(model, resolve(s, model), schedule))
    exact = count_steps(plan, image, 2, 1, lr=0.01, qas=True).per_step[0]
    fast = count_graph(profile, plan.graph, 0.01, True)
    assert len(exact) == len(fast)
    for op, a, b in zip(plan.graph.ops, exact, fast):
        assert [c.kernel for c in a] == [c.kernel for c in b], op.name
        for ca, cb in zip(a, b):
            assert np.array_equal(ca.counts, cb.counts), (op.name, ca.kernel,
                                                          dict(zip(COUNTS[ca.kernel].features, ca.counts - cb.counts)))


@pytest.mark.parametrize("tiling", ["4:3", "5:2"])
def test_profile_counts_tiled_prefixes(profiled, tiling):
    """Row bands of the frozen prefix (tinybench.graph.tiling) count as the host run of them."""
    from tinybench.plan.tiling import choose_tiling

    model, image, profile = profiled
    for scheme in ("last-3", "last-2"):
        choice = choose_tiling(compile_training(model, resolve(get_scheme(scheme, model), model)), tiling, "greedy-size")
        assert choice.graph.tiling is not None
        exact = count_steps(choice.plan, image, 2, 1, lr=0.01, qas=True).per_step[0]
        fast = count_graph(profile, choice.graph, 0.01, True)
        for op, a, b in zip(choice.graph.ops, exact, fast):
            for ca, cb in zip(a, b):
                assert np.array_equal(ca.counts, cb.counts), (scheme, op.name, ca.kernel)
