"""The count twins of every kernel: what each kernel's compiled loops execute for one call.

``COUNTS[name]`` pairs a reference kernel's twin (same name and parameters as the kernel, in the
module mirroring the kernel's) with the names of the numbers it returns; ``FAST_COUNTS`` holds
the twins of the fast kernels (firmware/kernels/fast), whose loops differ; :func:`twins` gives
the twins of a kernel set. :func:`run_and_count` runs a real call through its probe
(:mod:`tinybench.estimate.probes`, the same for every set: they compute the same bytes) and its
twin; a calibration (:mod:`tinybench.estimate.calibration`) turns the counts into instructions
and cycles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tinybench.estimate.counts import convolution as cv
from tinybench.estimate.counts import convolution_backward as cb
from tinybench.estimate.counts import elementwise as el
from tinybench.estimate.counts import fast_convolution as fcv
from tinybench.estimate.counts import fast_pointwise_fwd as fpw
from tinybench.estimate.counts import fused as fu
from tinybench.estimate.counts import loss as lo
from tinybench.estimate.counts import pooling as po
from tinybench.estimate.counts import update as up
from tinybench.estimate.probes import PROBES
from tinybench.kernels import KERNELS
from tinybench.kernels.host_c import parse_header


@dataclass(frozen=True)
class CountModel:
    kernel: str
    features: tuple[str, ...]
    twin: Callable[..., list[int]]


COUNTS: dict[str, CountModel] = {m.kernel: m for m in (
    CountModel("tb_conv_fwd_s8", cv.CONV_FWD_FEATURES, cv.tb_conv_fwd_s8),
    CountModel("tb_depthwise_fwd_s8", cv.DEPTHWISE_FWD_FEATURES, cv.tb_depthwise_fwd_s8),
    CountModel("tb_pointwise_fwd_s8", cv.POINTWISE_FWD_FEATURES, cv.tb_pointwise_fwd_s8),
    CountModel("tb_pwdw_fwd_s8", fu.PWDW_FWD_FEATURES, fu.tb_pwdw_fwd_s8),
    CountModel("tb_add_fwd_s8", el.ADD_FWD_FEATURES, el.tb_add_fwd_s8),
    CountModel("tb_channel_copy_fwd_s8", el.CHANNEL_COPY_FEATURES, el.tb_channel_copy_fwd_s8),
    CountModel("tb_avgpool_fwd_s8", po.AVGPOOL_FWD_FEATURES, po.tb_avgpool_fwd_s8),
    CountModel("tb_softmax_ce_bwd_s8", lo.SOFTMAX_FEATURES, lo.tb_softmax_ce_bwd_s8),
    CountModel("tb_conv_bwd_input_s8", cb.CONV_BWD_INPUT_FEATURES, cb.tb_conv_bwd_input_s8),
    CountModel("tb_depthwise_bwd_input_s8", cb.DEPTHWISE_BWD_INPUT_FEATURES, cb.tb_depthwise_bwd_input_s8),
    CountModel("tb_pointwise_bwd_input_s8", cb.POINTWISE_BWD_INPUT_FEATURES, cb.tb_pointwise_bwd_input_s8),
    CountModel("tb_add_bwd_s8", el.ADD_BWD_FEATURES, el.tb_add_bwd_s8),
    CountModel("tb_grad_sum_bwd_s8", el.GRAD_SUM_FEATURES, el.tb_grad_sum_bwd_s8),
    CountModel("tb_avgpool_bwd_s8", po.AVGPOOL_BWD_FEATURES, po.tb_avgpool_bwd_s8),
    CountModel("tb_conv_bwd_weight_s32", cb.WEIGHT_GRAD_FEATURES, cb.tb_conv_bwd_weight_s32),
    CountModel("tb_depthwise_bwd_weight_s32", cb.WEIGHT_GRAD_FEATURES, cb.tb_depthwise_bwd_weight_s32),
    CountModel("tb_pointwise_bwd_weight_s32", cb.WEIGHT_GRAD_FEATURES, cb.tb_pointwise_bwd_weight_s32),
    CountModel("tb_sgd_update_s8", up.SGD_UPDATE_S8_FEATURES, up.tb_sgd_update_s8),
    CountModel("tb_sgd_update_s32", up.SGD_UPDATE_S32_FEATURES, up.tb_sgd_update_s32),
    CountModel("tb_conv_bwd_weight_sgd_s8", up.FUSED_FEATURES, up.tb_conv_bwd_weight_sgd_s8),
    CountModel("tb_depthwise_bwd_weight_sgd_s8", up.FUSED_FEATURES, up.tb_depthwise_bwd_weight_sgd_s8),
    CountModel("tb_pointwise_bwd_weight_sgd_s8", up.FUSED_FEATURES, up.tb_pointwise_bwd_weight_sgd_s8),
)}


#: Twins of the fast kernel set where its loops differ from the reference (the rest is shared).
FAST_COUNTS: dict[str, CountModel] = {m.kernel: m for m in (
    CountModel("tb_conv_fwd_s8", fcv.CONV_FWD_FAST_FEATURES, fcv.tb_conv_fwd_s8),
    CountModel("tb_pointwise_fwd_s8", fpw.POINTWISE_FWD_FAST_FEATURES, fpw.tb_pointwise_fwd_s8),
)}


def twins(kernel_set: str) -> dict[str, CountModel]:
    """Every kernel's twin in ``kernel_set`` (``reference`` or ``fast``)."""
    return {**COUNTS, **FAST_COUNTS} if kernel_set == "fast" else COUNTS


def count(kernel: str, args: list, probe: Any, kernel_set: str = "reference") -> np.ndarray:
    """The twin's counts of one call, given its probe value."""
    model = twins(kernel_set)[kernel]
    counts = np.asarray(model.twin(*args, probe=probe), np.int64)
    if counts.shape != (len(model.features),):
        raise AssertionError(f"{kernel}: its twin returned {counts.size} counts for {len(model.features)} names")
    return counts


@dataclass
class CountedCall:
    """A call as counted: the kernel's return value, the twin's counts, and, when asked, what
    the twin read (the arguments as they were before the call, the probe value)."""

    result: Any
    counts: np.ndarray
    args: list | None = None
    probe: Any = None


def run_and_count(kernel: str, args: list, keep: bool = False, kernel_set: str = "reference") -> CountedCall:
    """Run one call of the Numba kernel (``args`` are its arrays and integers, modified in place
    as by the kernel) and count it with the twin of ``kernel_set``; with ``keep``, copy what the
    twin read."""
    names = [p.name for p in parse_header()[kernel].params]
    named = dict(zip(names, args))
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in args] if keep else None
    call = list(args)
    probe = PROBES.get(kernel)
    state = probe.before(named, call) if probe else None
    result = KERNELS[kernel](*call)
    value = probe.after(named, state, result) if probe else None
    return CountedCall(result, count(kernel, args, value, kernel_set), before, _copied(value) if keep else None)


def _copied(value: Any) -> Any:
    """A probe value that later calls cannot change (its arrays may be views of the arena)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copied(v) for v in value)
    return value
