"""The kernel calls of a compiled training step, written once, symbolically.

Each op of a :class:`~tinybench.graph.training.TrainingGraph` becomes one or more calls of a
named kernel with symbolic arguments: arena tensors, parameter arrays of a layer, the runtime
exponent of a gradient tensor, the label, compile-time integers. The host executor resolves
them to numpy views and calls the Numba or host-C kernels; the code generator prints them as
C. One description, so the firmware runs exactly what the host reference runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

from tinybench.graph.training import TrainingGraph, TrainOp
from tinybench.kernels.host import input_grad_factors, sgd_multipliers, split_weights
from tinybench.models.ir import Add, Conv, ConvKind


@dataclass(frozen=True)
class Tensor:
    """An arena tensor (pointer to its planned offset), or ``nbytes`` of it from byte ``offset``
    on (a row band of it, see :mod:`tinybench.graph.tiling`)."""

    name: str
    offset: int = 0
    nbytes: int | None = None  # None: to the end of the tensor


@dataclass(frozen=True)
class Param:
    """A parameter array of one layer (see :class:`LayerParams` for the fields)."""

    layer: str
    field: str


@dataclass(frozen=True)
class Exponent:
    """The runtime power-of-two exponent of a gradient tensor."""

    tensor: str


@dataclass(frozen=True)
class Global:
    """``label`` (the sample's class) or ``exp_table`` (the loss's exp table)."""

    name: str


@dataclass(frozen=True)
class Null:
    """An absent array (NULL in C, an empty array on the host)."""

    dtype: str  # uint8 | int8 | int32


Arg = Union[Tensor, Param, Exponent, Global, Null, int]


@dataclass(frozen=True)
class KernelCall:
    kernel: str
    args: tuple[Arg, ...]
    returns_exponent_of: str | None = None  # the call returns the exponent of this tensor


Call = KernelCall


@dataclass
class LayerParams:
    """A convolution's parameters as the kernels take them; ``w_train`` and ``bias`` are trained."""

    conv: Conv
    k: int
    w_train: np.ndarray
    w_frozen: np.ndarray
    bias: np.ndarray
    multiplier: np.ndarray
    shift: np.ndarray
    w_factor: np.ndarray
    w_exp: int
    w_mult: np.ndarray
    w_shift: np.ndarray
    b_mult: np.ndarray
    b_shift: np.ndarray

    def array(self, field: str) -> np.ndarray:
        return getattr(self, field)


#: Fields of LayerParams that the training step writes (they live in SRAM in firmware).
TRAINED_FIELDS = ("w_train", "bias")


def is_trained(graph: TrainingGraph, param: "Param") -> bool:
    """Whether the step writes ``param`` (firmware keeps it in SRAM; every other array is const,
    in flash)."""
    conv = next(c for c in graph.model.convs if c.name == param.layer)
    return conv.index in graph.scheme.updates and param.field in TRAINED_FIELDS


def layer_params(graph: TrainingGraph, lr: float, qas: bool) -> dict[str, LayerParams]:
    """Initial parameters of every convolution, split at its trained channels."""
    params = {}
    for conv in graph.model.convs:
        k = graph.scheme.weight_channels(conv.index)
        train, frozen = split_weights(conv.weight, k, depthwise=conv.groups > 1)
        factor, w_exp = input_grad_factors(conv.w_scales)
        wm, ws, bm, bs = sgd_multipliers(lr, conv.x.scale, conv.w_scales, qas)
        params[conv.name] = LayerParams(conv, k, train.copy(), frozen, conv.bias.copy(), conv.multiplier, conv.shift,
                                        factor, w_exp, wm, ws, bm, bs)
    return params


def op_calls(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    """The calls that implement ``op``; a tensor the op touches in part is passed as its slice."""
    calls = _BUILDERS[op.kind](graph, op, params)
    if not op.slices:
        return calls
    return [KernelCall(c.kernel, tuple(_sliced(a, op) for a in c.args), c.returns_exponent_of) for c in calls]


def _sliced(arg: Arg, op: TrainOp) -> Arg:
    if isinstance(arg, Tensor) and arg.name in op.slices:
        return Tensor(arg.name, *op.slices[arg.name])
    return arg


def _mask(op: TrainOp) -> Arg:
    name = next((t for t in op.outputs + op.inputs if t.startswith("mask:")), None)
    return Tensor(name) if name else Null("uint8")


def _variant(conv: Conv) -> str:
    if conv.kind is ConvKind.DEPTHWISE:
        return "depthwise"
    return "pointwise" if conv.kernel == 1 and conv.stride == 1 else "conv"


def _conv_fwd(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    p = params[op.layer]
    c = p.conv
    _, w, cin = c.in_shape
    h = op.rows(graph.tensors[op.inputs[0]])
    calls: list[Call] = [KernelCall("tb_channel_copy_fwd_s8", (Tensor(op.inputs[0]), h * w, cin, p.k, Tensor(t)))
                         for t in op.outputs if t.startswith("saved:")]
    L = op.layer
    x, y, mask = Tensor(op.inputs[0]), Tensor(op.outputs[0]), _mask(op)
    wt, wf, b, m, s = Param(L, "w_train"), Param(L, "w_frozen"), Param(L, "bias"), Param(L, "multiplier"), Param(L, "shift")
    zx, zy = c.x.zero_point, c.y.zero_point
    v = _variant(c)
    if v == "depthwise":
        args = (x, h, w, cin, zx, wt, wf, p.k, b, c.kernel, c.stride, m, s, zy, y, mask)
    elif v == "pointwise":
        args = (x, h, w, cin, zx, wt, wf, p.k, b, c.out_channels, m, s, zy, y, mask)
    else:
        args = (x, h, w, cin, zx, wt, wf, p.k, b, c.out_channels, c.kernel, c.stride, m, s, zy, y, mask)
    return calls + [KernelCall(f"tb_{v}_fwd_s8", args)]


def _pwdw_fwd(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    pw, dw = op.attrs["pointwise"], op.layer
    p, d = params[pw].conv, params[dw].conv
    _, w, cin = p.in_shape
    h = op.rows(graph.tensors[op.inputs[0]])
    return [KernelCall("tb_pwdw_fwd_s8", (
        Tensor(op.inputs[0]), h, w, cin, p.x.zero_point, Param(pw, "w_frozen"), Param(pw, "bias"),
        Param(pw, "multiplier"), Param(pw, "shift"), p.y.zero_point, p.out_channels, Tensor(op.inputs[1]),
        Param(dw, "w_frozen"), Param(dw, "bias"), d.kernel, d.stride, Param(dw, "multiplier"), Param(dw, "shift"),
        d.y.zero_point, Tensor(op.outputs[0]), _mask(op)))]


def _add_fwd(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    add = next(o for o in graph.model.ops if isinstance(o, Add) and o.name == op.layer)
    return [KernelCall("tb_add_fwd_s8", (
        Tensor(op.inputs[0]), add.a.zero_point, Tensor(op.inputs[1]), add.b.zero_point,
        op.elements(graph.tensors[op.outputs[0]]),
        add.multiplier_a, add.multiplier_b, add.shift, add.y.zero_point, Tensor(op.outputs[0]), _mask(op)))]


def _avgpool_fwd(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    h, w, c = graph.tensors[op.inputs[0]].shape
    zero = graph.model.tensors[op.inputs[0]].q.zero_point
    return [KernelCall("tb_avgpool_fwd_s8", (Tensor(op.inputs[0]), h, w, c, zero, Tensor(op.outputs[0])))]


def _loss_grad(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    return [KernelCall("tb_softmax_ce_bwd_s8", (Tensor(op.inputs[0]), op.attrs["num_classes"], Global("label"),
                                                Global("exp_table"), Tensor(op.outputs[0])), op.outputs[0])]


def _conv_bwd_input(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    p = params[op.layer]
    c, L = p.conv, op.layer
    h, w, cin = c.in_shape
    dy, e, mask, dx = Tensor(op.inputs[0]), Exponent(op.inputs[0]), Tensor(op.inputs[1]), Tensor(op.outputs[0])
    wt, wf, f = Param(L, "w_train"), Param(L, "w_frozen"), Param(L, "w_factor")
    v = _variant(c)
    if v == "depthwise":
        args = (dy, e, mask, h, w, cin, wt, wf, p.k, c.kernel, c.stride, f, p.w_exp, dx)
    elif v == "pointwise":
        args = (dy, e, mask, h, w, cin, wt, wf, p.k, c.out_channels, f, p.w_exp, dx)
    else:
        args = (dy, e, mask, h, w, cin, wt, wf, p.k, c.out_channels, c.kernel, c.stride, f, p.w_exp, dx)
    return [KernelCall(f"tb_{v}_bwd_input_s8", args, op.outputs[0])]


def _saved(op: TrainOp) -> Arg:
    return Tensor(op.inputs[2]) if len(op.inputs) > 2 else Null("int8")


def _weight_grad_geometry(p: LayerParams) -> tuple[Arg, ...]:
    """Arguments shared by the weight-gradient kernels after (grad, mask, x_saved, h, w)."""
    c = p.conv
    v = _variant(c)
    if v == "depthwise":
        return (c.in_channels, p.k, c.x.zero_point, c.kernel, c.stride)
    if v == "pointwise":
        return (p.k, c.x.zero_point, c.out_channels)
    return (p.k, c.x.zero_point, c.out_channels, c.kernel, c.stride)


def _conv_bwd_update(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    p, L = params[op.layer], op.layer
    h, w, _ = p.conv.in_shape
    head = (Tensor(op.inputs[0]), Tensor(op.inputs[1]), _saved(op), h, w)
    tail = (Exponent(op.inputs[0]), Param(L, "w_train"), Param(L, "w_mult"), Param(L, "w_shift"), Param(L, "bias"),
            Param(L, "b_mult"), Param(L, "b_shift"))
    return [KernelCall(f"tb_{_variant(p.conv)}_bwd_weight_sgd_s8", head + _weight_grad_geometry(p) + tail)]


def _conv_bwd_params(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    p = params[op.layer]
    h, w, _ = p.conv.in_shape
    grad_w = Tensor(op.outputs[1]) if len(op.outputs) > 1 else Null("int32")
    head = (Tensor(op.inputs[0]), Tensor(op.inputs[1]), _saved(op), h, w)
    return [KernelCall(f"tb_{_variant(p.conv)}_bwd_weight_s32",
                       head + _weight_grad_geometry(p) + (grad_w, Tensor(op.outputs[0])))]


def _sgd_update(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    p, L = params[op.layer], op.layer
    c = p.conv
    # the gradients carry the exponent of the output gradient they were computed from
    e = Exponent(next(o.inputs[0] for o in graph.ops if o.kind == "conv_bwd_params" and o.layer == L))
    calls: list[Call] = [KernelCall("tb_sgd_update_s32", (Param(L, "bias"), Tensor(op.inputs[0]), c.out_channels,
                                                          Param(L, "b_mult"), Param(L, "b_shift"), e))]
    if p.k:
        rows, row_len = (p.k, c.kernel * c.kernel) if c.groups > 1 else (c.out_channels, c.kernel * c.kernel * p.k)
        calls.append(KernelCall("tb_sgd_update_s8", (Param(L, "w_train"), Tensor(op.inputs[1]), rows, row_len,
                                                     Param(L, "w_mult"), Param(L, "w_shift"), e)))
    return calls


def _add_bwd(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    n = graph.tensors[op.inputs[0]].elements
    return [KernelCall("tb_add_bwd_s8", (Tensor(op.inputs[0]), Exponent(op.inputs[0]), Tensor(op.inputs[1]), n,
                                         Tensor(op.outputs[0])), op.outputs[0])]


def _avgpool_bwd(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    h, w, c = graph.tensors[op.outputs[0]].shape
    return [KernelCall("tb_avgpool_bwd_s8", (Tensor(op.inputs[0]), Exponent(op.inputs[0]), h, w, c,
                                             Tensor(op.outputs[0])), op.outputs[0])]


def _grad_add(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    a, b = op.inputs
    return [KernelCall("tb_grad_sum_bwd_s8", (Tensor(a), Exponent(a), Tensor(b), Exponent(b),
                                              graph.tensors[a].elements, Tensor(op.outputs[0])), op.outputs[0])]


def _tile_copy(graph: TrainingGraph, op: TrainOp, params: dict[str, LayerParams]) -> list[Call]:
    """Rows of a band into the tensor the bands assemble: all channels, so a plain copy."""
    band = graph.tensors[op.inputs[0]]
    c = band.shape[2]
    return [KernelCall("tb_channel_copy_fwd_s8", (Tensor(op.inputs[0]), op.elements(band) // c, c, c,
                                                  Tensor(op.outputs[0])))]


_BUILDERS = {
    "conv_fwd": _conv_fwd, "pwdw_fwd": _pwdw_fwd, "add_fwd": _add_fwd, "avgpool_fwd": _avgpool_fwd,
    "loss_grad": _loss_grad, "conv_bwd_input": _conv_bwd_input, "conv_bwd_update": _conv_bwd_update,
    "conv_bwd_params": _conv_bwd_params, "sgd_update": _sgd_update, "add_bwd": _add_bwd,
    "avgpool_bwd": _avgpool_bwd, "grad_add": _grad_add, "tile_copy": _tile_copy,
}
