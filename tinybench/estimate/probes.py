"""What a count twin needs from the data of a call besides its arguments, taken in the host run.

A twin counts the paths the data decides (a saturating output, a zero gradient sum, the runtime
shift). Some of that is not in the call's arguments: a forward call without a mask still
saturates, a fused SGD kernel never stores its gradient sums, a shift is known only from the
exponent the kernel returns, an in-place kernel overwrites its inputs. A probe gets it with the
Numba kernels themselves around the real call (``before`` may substitute a scratch mask for an
absent one, which changes no output, or run a gradient-sum kernel into scratch; ``after`` builds
the value the twin takes as ``probe``). No kernel arithmetic is restated here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from numba import njit

from tinybench.kernels import KERNELS
from tinybench.kernels.convolution_backward import depthwise_input_acc
from tinybench.kernels.host import mask_bytes
from tinybench.kernels.host_c import parse_header
from tinybench.kernels.pooling import AVGPOOL_RECIP_BITS
from tinybench.kernels.support import tb_nn_input_grad_sum, tb_nn_round_shift


@dataclass(frozen=True)
class Probe:
    before: Callable[[dict, list], Any]  # (arguments by name, the call's argument list) -> state
    after: Callable[[dict, Any, int | None], Any]  # (arguments by name, state, result) -> probe


def _names(kernel: str) -> list[str]:
    return [p.name for p in parse_header()[kernel].params]


def _scratch_mask(named: dict, call: list, kernel: str, output: str = "y", mask: str = "mask") -> np.ndarray:
    """The call's mask, or a scratch one put in its place (the outputs do not change)."""
    m = named[mask]
    if m.size == 0:
        m = np.zeros(mask_bytes(named[output].size), np.uint8)
        call[_names(kernel).index(mask)] = m
    return m


def _store(kernel: str) -> Probe:
    return Probe(lambda named, call: _scratch_mask(named, call, kernel),
                 lambda named, mask, result: (named["y"], mask))


def _pwdw_before(named: dict, call: list):
    n = named["h_in"] * named["w_in"] * named["c_mid"]
    mid_y = np.empty(n, np.int8)
    mid_mask = np.zeros(mask_bytes(n), np.uint8)
    KERNELS["tb_pointwise_fwd_s8"](named["x"], named["h_in"], named["w_in"], named["c_in"], named["x_zero"],
                                   np.empty(0, np.int8), named["pw_w"], 0, named["pw_bias"], named["c_mid"],
                                   named["pw_mult"], named["pw_shift"], named["mid_zero"], mid_y, mid_mask)
    return mid_y, mid_mask, _scratch_mask(named, call, "tb_pwdw_fwd_s8")


def _shift_after(named: dict, state, result: int) -> tuple[int]:
    """n_shift from the exponent an input-gradient kernel returns (e_grad + w_exp + n_shift)."""
    return (result - named["e_grad"] - named["w_exp"],)


@njit(cache=True)
def _pointwise_input_acc(grad, mask, positions, c_out, w_factor, w_train, w_frozen, k_train, c_in):
    """Every accumulator of a pointwise input gradient, [positions, c_in] (int64)."""
    acc = np.empty((positions, c_in), np.int64)
    for pos in range(positions):
        for ci in range(c_in):
            acc[pos, ci] = tb_nn_input_grad_sum(grad, mask, pos * c_out, c_out, w_factor, w_train, w_frozen,
                                                k_train, c_in, 1, 0, ci)
    return acc


def _pointwise_input_after(named: dict, state, result: int) -> tuple:
    """(n_shift, the accumulators): the fast kernel's path follows the accumulators in its order
    of writing (where the shift grows, which outputs are recomputed)."""
    acc = _pointwise_input_acc(named["grad"], named["mask"], named["h"] * named["w"], named["c_out"],
                               named["w_factor"], named["w_train"], named["w_frozen"], named["k_train"],
                               named["c_in"])
    return _shift_after(named, state, result) + (acc,)


@njit(cache=True)
def _depthwise_input_acc(grad, mask, h_in, w_in, c, w_train, w_frozen, k_train, kernel, stride, w_factor):
    """Every accumulator of a depthwise input gradient, [h_in * w_in, c] (int64), as the
    reference kernel computes each."""
    h_out, w_out = (h_in + stride - 1) // stride, (w_in + stride - 1) // stride
    acc = np.zeros((h_in * w_in, c), np.int64)
    for iy in range(h_in):
        for ix in range(w_in):
            for ch in range(c):
                acc[iy * w_in + ix, ch] = depthwise_input_acc(grad, mask, iy, ix, ch, c, w_train, w_frozen, k_train,
                                                              kernel, stride, h_out, w_out, w_factor)
    return acc


def _depthwise_input_after(named: dict, state, result: int) -> tuple:
    """(n_shift, the accumulators): the fast kernel's path follows the accumulators in its order
    of writing (where the shift grows, which channels are written again)."""
    acc = _depthwise_input_acc(named["grad"], named["mask"], named["h_in"], named["w_in"], named["c"],
                               named["w_train"], named["w_frozen"], named["k_train"], named["kernel"],
                               named["stride"], named["w_factor"])
    return _shift_after(named, state, result) + (acc,)


@njit(cache=True)
def _grad_sum_acc(a, d_a, b, d_b):
    acc = np.empty(a.size, np.int64)
    for i in range(a.size):
        acc[i] = tb_nn_round_shift(a[i], d_a) + tb_nn_round_shift(b[i], d_b)
    return acc


def _grad_sum_before(named: dict, call: list) -> np.ndarray:
    e_big = max(named["e_a"], named["e_b"])
    n = named["n"]
    return _grad_sum_acc(named["a"][:n], min(e_big - named["e_a"], 31), named["b"][:n], min(e_big - named["e_b"], 31))


def _avgpool_bwd_before(named: dict, call: list) -> np.ndarray:
    hw = named["h"] * named["w"]
    recip = ((1 << AVGPOOL_RECIP_BITS) + hw // 2) // hw
    return named["grad"][:named["c"]].astype(np.int64) * recip


def _copy(*fields: str) -> Probe:
    """Copies of parameters the kernel updates in place, as they were before the call."""
    return Probe(lambda named, call: tuple(named[f].copy() for f in fields), lambda named, state, result: state)


def _fused(sums_kernel: str) -> Probe:
    """A fused SGD kernel: its gradient sums from the matching ``*_bwd_weight_s32`` kernel
    (same inputs; the fused kernel only updates the parameters), and the parameters before."""
    sums_params = _names(sums_kernel)

    def before(named: dict, call: list):
        grad_w = np.empty(named["w_train"].size, np.int32)
        grad_b = np.empty(named["bias"].size, np.int32)
        scratch = {**named, "grad_w": grad_w, "grad_b": grad_b}
        KERNELS[sums_kernel](*(scratch[p] for p in sums_params))
        return grad_w, grad_b, named["w_train"].copy(), named["bias"].copy()

    return Probe(before, lambda named, state, result: state)


PROBES: dict[str, Probe] = {
    **{k: _store(k) for k in ("tb_conv_fwd_s8", "tb_depthwise_fwd_s8", "tb_pointwise_fwd_s8", "tb_add_fwd_s8")},
    "tb_pwdw_fwd_s8": Probe(_pwdw_before, lambda named, state, result: (state[0], state[1], named["y"], state[2])),
    "tb_conv_bwd_input_s8": Probe(lambda named, call: None, _shift_after),
    "tb_depthwise_bwd_input_s8": Probe(lambda named, call: None, _depthwise_input_after),
    "tb_pointwise_bwd_input_s8": Probe(lambda named, call: None, _pointwise_input_after),
    "tb_grad_sum_bwd_s8": Probe(_grad_sum_before,
                                lambda named, acc, result: (acc, result - max(named["e_a"], named["e_b"]))),
    "tb_avgpool_bwd_s8": Probe(_avgpool_bwd_before,
                               lambda named, acc, result: (acc, result - named["e_grad"] + AVGPOOL_RECIP_BITS)),
    "tb_sgd_update_s8": _copy("w"),
    "tb_sgd_update_s32": _copy("b"),
    "tb_conv_bwd_weight_sgd_s8": _fused("tb_conv_bwd_weight_s32"),
    "tb_depthwise_bwd_weight_sgd_s8": _fused("tb_depthwise_bwd_weight_s32"),
    "tb_pointwise_bwd_weight_sgd_s8": _fused("tb_pointwise_bwd_weight_s32"),
}
