"""Run a compiled training step with the integer kernels, over one arena laid out by the plan.

Every tensor lives at its planned offset in a single byte array, exactly as in firmware, so
in-place chains and streaming overlaps are exercised for real: a wrong plan corrupts the
result. The same executor drives either kernel set with the same names: the Numba reference
(:mod:`tinybench.kernels`) or the C kernels built for the host (:mod:`tinybench.kernels.host_c`),
which is how whole training steps are compared bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from tinybench.graph.training import GradPrecision, TrainingGraph, TrainOp
from tinybench.kernels.host import input_grad_factors, sgd_multipliers, softmax_exp_table, split_weights
from tinybench.models.ir import Conv, ConvKind
from tinybench.plan.memory import MemoryPlan

DEFAULT_LR = 0.01


def numba_kernels() -> Any:
    """The Numba kernel set, addressable by C name."""
    from tinybench import kernels
    from tinybench.kernels.fused import tb_pwdw_fwd_s8

    return SimpleNamespace(**kernels.KERNELS, tb_pwdw_fwd_s8=tb_pwdw_fwd_s8)


def host_c_kernels() -> Any:
    """The C kernels compiled for the host, wrapped with ctypes."""
    from tinybench.kernels import host_c

    return host_c.load()


@dataclass
class LayerState:
    """Parameters of one convolution as the kernels see them; ``w_train`` and ``bias`` change."""

    conv: Conv
    k: int
    w_train: np.ndarray
    w_frozen: np.ndarray
    bias: np.ndarray
    w_factor: np.ndarray
    w_exp: int
    sgd: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

    def weight(self) -> np.ndarray:
        """The full OHWI weight with the trained part merged back."""
        c = self.conv
        if c.groups > 1:
            flat = np.concatenate([self.w_train, self.w_frozen])
            return flat.reshape(c.weight.shape)
        train = self.w_train.reshape(c.out_channels, c.kernel, c.kernel, self.k)
        frozen = self.w_frozen.reshape(c.out_channels, c.kernel, c.kernel, c.in_channels - self.k)
        return np.concatenate([train, frozen], axis=3)


class TrainingStep:
    """One compiled training step bound to parameters, a kernel set and an arena."""

    def __init__(self, plan: MemoryPlan, kernels: Any | None = None, lr: float = DEFAULT_LR, qas: bool = True):
        graph = plan.graph
        if graph.precision is not GradPrecision.INT8:
            raise ValueError("only int8 gradients run on the integer kernels; fp32 is a planning option")
        self.graph: TrainingGraph = graph
        self.plan = plan
        self.k = kernels if kernels is not None else numba_kernels()
        self.arena = np.zeros(plan.arena_bytes, np.uint8)
        self.offsets = plan.offsets
        self.layers = {c.name: self._layer(c, lr, qas) for c in graph.model.convs}
        self.exp_table = softmax_exp_table(graph.model.classifier.y.scale)
        self.loss_at = next((i for i, op in enumerate(graph.ops) if op.kind == "loss_grad"), len(graph.ops))
        self._e: dict[str, int] = {}
        self._label = 0

    def _layer(self, conv: Conv, lr: float, qas: bool) -> LayerState:
        k = self.graph.scheme.weight_channels(conv.index)
        train, frozen = split_weights(conv.weight, k, depthwise=conv.groups > 1)
        factor, w_exp = input_grad_factors(conv.w_scales)
        return LayerState(conv, k, train.copy(), frozen, conv.bias.copy(), factor, w_exp,
                          sgd_multipliers(lr, conv.x.scale, conv.w_scales, qas))

    # -- arena views ----------------------------------------------------------------------
    def view(self, name: str) -> np.ndarray:
        t = self.graph.tensors[name]
        off = self.offsets[name]
        if t.dtype == "bit":
            return self.arena[off:off + t.nbytes]
        dtype = {"int8": np.int8, "int32": np.int32}[t.dtype]
        return self.arena[off:off + t.nbytes].view(dtype)

    def _mask(self, op: TrainOp) -> np.ndarray:
        name = next((t for t in op.outputs + op.inputs if t.startswith("mask:")), None)
        return self.view(name) if name else np.zeros(0, np.uint8)

    # -- running --------------------------------------------------------------------------
    def forward(self, image: np.ndarray) -> np.ndarray:
        """Run the forward ops on one int8 HWC image; returns the int8 logits."""
        self.view(self.graph.model.input)[:] = image.reshape(-1)
        for op in self.graph.ops[: self.loss_at]:
            self.run_op(op)
        return self.view(self.graph.model.output).copy()

    def step(self, image: np.ndarray, label: int) -> np.ndarray:
        """One training step; returns the logits of its forward pass."""
        self._label = int(label)
        logits = self.forward(image)
        for op in self.graph.ops[self.loss_at:]:
            self.run_op(op)
        return logits

    def run_op(self, op: TrainOp) -> None:
        getattr(self, f"_op_{op.kind}")(op)

    def parameters(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Trainable parameters (trained weight part, bias) by layer, in conv order."""
        return {name: (s.w_train, s.bias) for name, s in self.layers.items()
                if s.conv.index in self.graph.scheme.updates}

    # -- forward ops ----------------------------------------------------------------------
    def _op_conv_fwd(self, op: TrainOp) -> None:
        s = self.layers[op.layer]
        c = s.conv
        x, y, mask = self.view(op.inputs[0]), self.view(op.outputs[0]), self._mask(op)
        saved = next((t for t in op.outputs if t.startswith("saved:")), None)
        if saved:
            h, w, cin = c.in_shape
            self.view(saved)[:] = x.reshape(h, w, cin)[:, :, : s.k].reshape(-1)
        h, w, cin = c.in_shape
        if c.kind is ConvKind.DEPTHWISE:
            self.k.tb_depthwise_fwd_s8(x, h, w, cin, c.x.zero_point, s.w_train, s.w_frozen, s.k, s.bias, c.kernel,
                                       c.stride, c.multiplier, c.shift, c.y.zero_point, y, mask)
        elif c.kernel == 1 and c.stride == 1:
            self.k.tb_pointwise_fwd_s8(x, h, w, cin, c.x.zero_point, s.w_train, s.w_frozen, s.k, s.bias,
                                       c.out_channels, c.multiplier, c.shift, c.y.zero_point, y, mask)
        else:
            self.k.tb_conv_fwd_s8(x, h, w, cin, c.x.zero_point, s.w_train, s.w_frozen, s.k, s.bias, c.out_channels,
                                  c.kernel, c.stride, c.multiplier, c.shift, c.y.zero_point, y, mask)

    def _op_pwdw_fwd(self, op: TrainOp) -> None:
        pw = self.layers[op.attrs["pointwise"]]
        dw = self.layers[op.layer]
        p, d = pw.conv, dw.conv
        h, w, cin = p.in_shape
        self.k.tb_pwdw_fwd_s8(self.view(op.inputs[0]), h, w, cin, p.x.zero_point, pw.w_frozen, pw.bias,
                              p.multiplier, p.shift, p.y.zero_point, p.out_channels, self.view(op.inputs[1]),
                              dw.w_frozen, dw.bias, d.kernel, d.stride, d.multiplier, d.shift, d.y.zero_point,
                              self.view(op.outputs[0]), self._mask(op))

    def _op_add_fwd(self, op: TrainOp) -> None:
        add = next(o for o in self.graph.model.ops if o.name == op.layer)
        n = int(np.prod(add.shape))
        self.k.tb_add_fwd_s8(self.view(op.inputs[0]), add.a.zero_point, self.view(op.inputs[1]), add.b.zero_point,
                             n, add.multiplier_a, add.multiplier_b, add.shift, add.y.zero_point,
                             self.view(op.outputs[0]), self._mask(op))

    def _op_avgpool_fwd(self, op: TrainOp) -> None:
        h, w, c = self.graph.tensors[op.inputs[0]].shape
        zero = self.graph.model.tensors[op.inputs[0]].q.zero_point
        self.k.tb_avgpool_fwd_s8(self.view(op.inputs[0]), h, w, c, zero, self.view(op.outputs[0]))

    # -- loss and backward ops ----------------------------------------------------------------
    def _op_loss_grad(self, op: TrainOp) -> None:
        self._e[op.outputs[0]] = int(self.k.tb_softmax_ce_bwd_s8(
            self.view(op.inputs[0]), op.attrs["num_classes"], self._label, self.exp_table, self.view(op.outputs[0])))

    def _op_conv_bwd_input(self, op: TrainOp) -> None:
        s = self.layers[op.layer]
        c = s.conv
        dy, e = self.view(op.inputs[0]), self._e[op.inputs[0]]
        mask, dx = self.view(op.inputs[1]), self.view(op.outputs[0])
        h, w, cin = c.in_shape
        if c.kind is ConvKind.DEPTHWISE:
            e_out = self.k.tb_depthwise_bwd_input_s8(dy, e, mask, h, w, cin, s.w_train, s.w_frozen, s.k, c.kernel,
                                                     c.stride, s.w_factor, s.w_exp, dx)
        elif c.kernel == 1 and c.stride == 1:
            e_out = self.k.tb_pointwise_bwd_input_s8(dy, e, mask, h, w, cin, s.w_train, s.w_frozen, s.k,
                                                     c.out_channels, s.w_factor, s.w_exp, dx)
        else:
            e_out = self.k.tb_conv_bwd_input_s8(dy, e, mask, h, w, cin, s.w_train, s.w_frozen, s.k, c.out_channels,
                                                c.kernel, c.stride, s.w_factor, s.w_exp, dx)
        self._e[op.outputs[0]] = int(e_out)

    def _saved(self, op: TrainOp) -> np.ndarray:
        return self.view(op.inputs[2]) if len(op.inputs) > 2 else np.zeros(0, np.int8)

    def _op_conv_bwd_update(self, op: TrainOp) -> None:
        s = self.layers[op.layer]
        c = s.conv
        dy, e, mask, saved = self.view(op.inputs[0]), self._e[op.inputs[0]], self.view(op.inputs[1]), self._saved(op)
        wm, ws, bm, bs = s.sgd
        h, w, _ = c.in_shape
        if c.kind is ConvKind.DEPTHWISE:
            self.k.tb_depthwise_bwd_weight_sgd_s8(dy, mask, saved, h, w, c.in_channels, s.k, c.x.zero_point, c.kernel,
                                                  c.stride, e, s.w_train, wm, ws, s.bias, bm, bs)
        elif c.kernel == 1 and c.stride == 1:
            self.k.tb_pointwise_bwd_weight_sgd_s8(dy, mask, saved, h, w, s.k, c.x.zero_point, c.out_channels, e,
                                                  s.w_train, wm, ws, s.bias, bm, bs)
        else:
            self.k.tb_conv_bwd_weight_sgd_s8(dy, mask, saved, h, w, s.k, c.x.zero_point, c.out_channels, c.kernel,
                                             c.stride, e, s.w_train, wm, ws, s.bias, bm, bs)

    def _op_conv_bwd_params(self, op: TrainOp) -> None:
        s = self.layers[op.layer]
        c = s.conv
        dy, mask, saved = self.view(op.inputs[0]), self.view(op.inputs[1]), self._saved(op)
        grad_b = self.view(op.outputs[0])
        grad_w = self.view(op.outputs[1]) if len(op.outputs) > 1 else np.zeros(0, np.int32)
        h, w, _ = c.in_shape
        if c.kind is ConvKind.DEPTHWISE:
            self.k.tb_depthwise_bwd_weight_s32(dy, mask, saved, h, w, c.in_channels, s.k, c.x.zero_point, c.kernel,
                                               c.stride, grad_w, grad_b)
        elif c.kernel == 1 and c.stride == 1:
            self.k.tb_pointwise_bwd_weight_s32(dy, mask, saved, h, w, s.k, c.x.zero_point, c.out_channels, grad_w,
                                               grad_b)
        else:
            self.k.tb_conv_bwd_weight_s32(dy, mask, saved, h, w, s.k, c.x.zero_point, c.out_channels, c.kernel,
                                          c.stride, grad_w, grad_b)
        self._e[op.outputs[0]] = self._e[op.inputs[0]]

    def _op_sgd_update(self, op: TrainOp) -> None:
        s = self.layers[op.layer]
        c = s.conv
        wm, ws, bm, bs = s.sgd
        e = self._e[op.inputs[0]]
        self.k.tb_sgd_update_s32(s.bias, self.view(op.inputs[0]), c.out_channels, bm, bs, e)
        if s.k:
            rows, row_len = ((s.k, c.kernel * c.kernel) if c.groups > 1
                             else (c.out_channels, c.kernel * c.kernel * s.k))
            self.k.tb_sgd_update_s8(s.w_train, self.view(op.inputs[1]), rows, row_len, wm, ws, e)

    def _op_add_bwd(self, op: TrainOp) -> None:
        n = self.graph.tensors[op.inputs[0]].elements
        self._e[op.outputs[0]] = int(self.k.tb_add_bwd_s8(self.view(op.inputs[0]), self._e[op.inputs[0]],
                                                          self.view(op.inputs[1]), n, self.view(op.outputs[0])))

    def _op_avgpool_bwd(self, op: TrainOp) -> None:
        h, w, c = self.graph.tensors[op.outputs[0]].shape
        self._e[op.outputs[0]] = int(self.k.tb_avgpool_bwd_s8(self.view(op.inputs[0]), self._e[op.inputs[0]], h, w, c,
                                                              self.view(op.outputs[0])))

    def _op_grad_add(self, op: TrainOp) -> None:
        a, b = op.inputs
        n = self.graph.tensors[a].elements
        self._e[op.outputs[0]] = int(self.k.tb_grad_sum_bwd_s8(self.view(a), self._e[a], self.view(b), self._e[b], n,
                                                               self.view(op.outputs[0])))
