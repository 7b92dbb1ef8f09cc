"""Run a compiled training step with the integer kernels, over one arena laid out by the plan.

Every tensor lives at its planned offset in a single byte array, exactly as in firmware, so
in-place chains and streaming overlaps are exercised for real: a wrong plan corrupts the
result. The calls come from :mod:`tinybench.kernels.calls`, the same description the code
generator prints as C; they run on either kernel set with the same names: the Numba
reference (:mod:`tinybench.kernels`) or the C kernels built for the host
(:mod:`tinybench.kernels.host_c`), which is how whole training steps are compared bit for bit.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from tinybench.graph.training import GradPrecision, TrainingGraph
from tinybench.kernels.calls import (Arg, Call, Exponent, Global, LayerParams, Null, Param, Tensor, TRAINED_FIELDS,
                                     layer_params, op_calls)
from tinybench.kernels.host import softmax_exp_table
from tinybench.plan.memory import MemoryPlan

DEFAULT_LR = 0.01
_DTYPES = {"int8": np.int8, "int32": np.int32, "uint8": np.uint8}


def numba_kernels() -> Any:
    """The Numba kernel set, addressable by C name."""
    from tinybench.kernels import KERNELS

    return SimpleNamespace(**KERNELS)


def host_c_kernels() -> Any:
    """The C kernels compiled for the host, wrapped with ctypes."""
    from tinybench.kernels import host_c

    return host_c.load()


class TrainingStep:
    """One compiled training step bound to parameters, a kernel set and an arena."""

    def __init__(self, plan: MemoryPlan, kernels: Any | None = None, lr: float = DEFAULT_LR, qas: bool = True):
        graph = plan.graph
        if graph.precision is not GradPrecision.INT8:
            raise ValueError("only int8 gradients run on the integer kernels; fp32 is a planning option")
        self.graph: TrainingGraph = graph
        self.kernels = kernels if kernels is not None else numba_kernels()
        self.arena = np.zeros(plan.arena_bytes, np.uint8)
        self.offsets = plan.offsets
        self.params: dict[str, LayerParams] = layer_params(graph, lr, qas)
        self.calls: list[list[Call]] = [op_calls(graph, op, self.params) for op in graph.ops]
        self.globals = {"exp_table": softmax_exp_table(graph.model.classifier.y.scale), "label": 0}
        self.loss_at = next((i for i, op in enumerate(graph.ops) if op.kind == "loss_grad"), len(graph.ops))
        self.exponents: dict[str, int] = {}

    def view(self, name: str, offset: int = 0, nbytes: int | None = None) -> np.ndarray:
        """The arena bytes of tensor ``name`` (or ``nbytes`` of them from byte ``offset``), typed."""
        t = self.graph.tensors[name]
        off = self.offsets[name] + offset
        raw = self.arena[off:off + (t.nbytes - offset if nbytes is None else nbytes)]
        return raw if t.dtype == "bit" else raw.view(_DTYPES[t.dtype])

    def run_forward(self, image: np.ndarray) -> None:
        """Run the forward ops on one int8 HWC image (of a graph that may hold only some of the
        forward, such as the band ops of a tiled prefix)."""
        self.view(self.graph.model.input)[:] = self.graph.model.check_image(image).reshape(-1)
        for calls in self.calls[: self.loss_at]:
            self._run(calls)

    def forward(self, image: np.ndarray) -> np.ndarray:
        """Run the forward ops on one int8 HWC image; returns the int8 logits."""
        self.run_forward(image)
        return self.view(self.graph.model.output).copy()

    def step(self, image: np.ndarray, label: int) -> np.ndarray:
        """One training step; returns the logits of its forward pass."""
        self.globals["label"] = self.graph.model.check_label(label)
        logits = self.forward(image)
        for calls in self.calls[self.loss_at:]:
            self._run(calls)
        return logits

    def parameters(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Trainable parameters (trained weight part, bias) by layer, in conv order."""
        return {name: tuple(p.array(f) for f in TRAINED_FIELDS) for name, p in self.params.items()
                if p.conv.index in self.graph.scheme.updates}

    def _run(self, calls: list[Call]) -> None:
        for call in calls:
            result = getattr(self.kernels, call.kernel)(*(self._resolve(a) for a in call.args))
            if call.returns_exponent_of:
                self.exponents[call.returns_exponent_of] = int(result)

    def _resolve(self, arg: Arg) -> Any:
        if isinstance(arg, Tensor):
            return self.view(arg.name, arg.offset, arg.nbytes)
        if isinstance(arg, Param):
            return self.params[arg.layer].array(arg.field)
        if isinstance(arg, Exponent):
            return self.exponents[arg.tensor]
        if isinstance(arg, Global):
            return self.globals[arg.name]
        if isinstance(arg, Null):
            return np.zeros(0, _DTYPES[arg.dtype])
        return arg
