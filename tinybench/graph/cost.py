"""Multiply-accumulates of the ops of a training step: the cost proxy for cycles until the
estimator (tinybench.estimate) predicts them.

Only the multiply-accumulates of the convolution loops count (element-wise ops, copies, the
loss and the SGD steps are a small fraction of a step and not counted); an op on a row band
counts the rows it computes, so a tiled step's extra MACs are the halo rows computed twice.
"""

from __future__ import annotations

from collections.abc import Callable

from tinybench.graph.training import TrainingGraph, TrainOp
from tinybench.models.ir import Conv, convs_by_name

#: The cost of one op of a step; the tiling choice sums it over ops (pluggable: cycles later).
OpCost = Callable[[TrainingGraph, TrainOp], float]


def _window_macs(conv: Conv, rows_in: int) -> int:
    """MACs of a forward convolution over ``rows_in`` input rows."""
    _, w_out, c_out = conv.out_shape
    rows_out = -(-rows_in // conv.stride)
    return rows_out * w_out * c_out * conv.kernel * conv.kernel * (conv.in_channels // conv.groups)


def op_macs(graph: TrainingGraph, op: TrainOp) -> float:
    convs = convs_by_name(graph.model)
    conv = convs.get(op.layer)
    if op.kind == "conv_fwd":
        return _window_macs(conv, op.rows(graph.tensors[op.inputs[0]]))
    if op.kind == "pwdw_fwd":
        pw = convs[op.attrs["pointwise"]]
        rows = op.rows(graph.tensors[op.inputs[0]])
        return _window_macs(pw, rows) + _window_macs(conv, rows)
    if op.kind == "conv_bwd_input":
        return conv.macs
    if op.kind in ("conv_bwd_update", "conv_bwd_params"):
        k = op.attrs["weight_channels"]
        per_channel = conv.macs // (conv.in_channels // conv.groups)  # MACs of one input channel
        return per_channel * k if conv.groups == 1 else conv.macs * k // conv.out_channels
    return 0


def step_cost(graph: TrainingGraph, cost: OpCost = op_macs) -> float:
    return sum(cost(graph, op) for op in graph.ops)
