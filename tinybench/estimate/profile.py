"""Counting many schemes of one model without a host run each: the data profile of a model.

Before its first update, a training step computes the same data whatever the scheme: the same
weights on the same sample give the same activations and clamp masks, the same loss gradient,
and, going back, the same activation gradients, exponents and weight-gradient sums (a scheme
only chooses which of them are computed, and how many input channels of each weight gradient).
So one host run of the model's full update, in each schedule, counted with every call's data
kept (:class:`DataProfile`), gives every count a step-0 twin needs for any scheme of the model:
:func:`count_from_profile` looks each call up by op and kernel, takes the scheme's own integers
and parameters, slices the full-width weight-gradient sums to the scheme's channels, and runs
the twin. Steps after the first follow updated weights, so for them this is an expectation
(their data differs a little); ``tinybench run`` counts each step on its own data instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinybench.estimate.counts import CountedCall, count, run_and_count
from tinybench.estimate.step import CallCounts
from tinybench.graph.schemes import full_update, resolve
from tinybench.graph.training import Schedule, TrainingGraph, compile_training
from tinybench.kernels.calls import Exponent, Global, KernelCall, LayerParams, Null, Param, Tensor, layer_params, op_calls
from tinybench.kernels.executor import TrainingStep
from tinybench.kernels.host_c import parse_header
from tinybench.models.ir import Model
from tinybench.plan.memory import plan_memory


class _Recording:
    """A kernel set that counts every call and keeps what its twin read."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, CountedCall]] = []

    def __getattr__(self, kernel: str):
        if not kernel.startswith("tb_"):
            raise AttributeError(kernel)

        def call(*args):
            counted = run_and_count(kernel, list(args), keep=True)
            self.calls.append((kernel, counted))
            return counted.result

        return call


@dataclass
class DataProfile:
    """Every call of the full update's first step, in both schedules, by (op name, kernel);
    and the band ops of each tiling of the frozen prefix met so far (a tiled prefix is the same
    for every scheme tiled the same way: it is run once, forward only)."""

    model: Model
    image: np.ndarray
    label: int
    lr: float
    qas: bool
    records: dict[tuple, CountedCall] = field(default_factory=dict)  # _key(graph, op, kernel) -> call
    tilings: set = field(default_factory=set)
    memo: dict = field(default_factory=dict)

    @classmethod
    def of(cls, model: Model, image: np.ndarray, label: int, *, lr: float, qas: bool) -> "DataProfile":
        profile = cls(model, image, label, lr, qas)
        full = resolve(full_update(len(model.convs)), model)
        for schedule in Schedule:
            profile._record(compile_training(model, full, schedule), forward_only=False)
        return profile

    def _record(self, graph: TrainingGraph, forward_only: bool) -> None:
        kernels = _Recording()
        step = TrainingStep(plan_memory(graph, "linear"), kernels, lr=self.lr, qas=self.qas)
        if forward_only:
            step.run_forward(self.image)
        else:
            step.step(self.image, self.label)
        it = iter(kernels.calls)
        for op, calls in zip(graph.ops, step.calls):
            for _ in calls:
                kernel, counted = next(it, (None, None))
                if kernel is not None:
                    self.records.setdefault(_key(graph, op, kernel), counted)

    def cover(self, graph: TrainingGraph) -> None:
        """Record the band ops of ``graph``'s tiling if they are not yet."""
        if graph.tiling is not None and graph.tiling not in self.tilings:
            self._record(graph, forward_only=True)
            self.tilings.add(graph.tiling)


def _key(graph: TrainingGraph, op, kernel: str) -> tuple:
    """A call's key: its op and kernel, and for an op on a row band (named ``op@tile`` by
    tinybench.graph.tiling) the tiling, whose bands it computes."""
    return op.name, kernel, graph.tiling if "@" in op.name else None


def _named(kernel: str, args: list) -> dict:
    return dict(zip((p.name for p in parse_header()[kernel].params), args))


def _channels(sums: np.ndarray, conv, k: int) -> np.ndarray:
    """The first k input channels of a full-width weight-gradient sum (depthwise: channels)."""
    if conv.groups > 1:
        return np.ascontiguousarray(sums.reshape(conv.in_channels, -1)[:k]).ravel()
    return np.ascontiguousarray(sums.reshape(conv.out_channels, conv.kernel, conv.kernel, conv.in_channels)[..., :k]).ravel()


class ProfileError(KeyError):
    """A call of a scheme that the model's full update does not make (a bug in the mapping)."""


def _source(profile: DataProfile, graph: TrainingGraph, op, call: KernelCall) -> CountedCall:
    key = _key(graph, op, call.kernel)
    if key in profile.records:
        return profile.records[key]
    if call.kernel == "tb_pwdw_fwd_s8":  # fused only in frozen prefixes: the two convolutions of the full update
        pw, dw = (profile.records.get((f"conv_fwd:{name}", kern, None)) for name, kern in
                  ((op.attrs["pointwise"], "tb_pointwise_fwd_s8"), (op.layer, "tb_depthwise_fwd_s8")))
        if pw and dw:
            return CountedCall(None, np.zeros(0), None, (*pw.probe, *dw.probe))
    if call.kernel == "tb_channel_copy_fwd_s8":  # partial saved inputs: no data decides its cost
        return CountedCall(None, np.zeros(0), None, None)
    raise ProfileError(f"{profile.model.name}: no call {call.kernel} of op {op.name} in the full update")


def _probe(call: KernelCall, source: CountedCall, params: dict[str, LayerParams], named: dict):
    """The source's probe, with the scheme's parameters before the step and its channels."""
    if call.kernel in ("tb_sgd_update_s8", "tb_sgd_update_s32"):
        return (named["w"] if "w" in named else named["b"]).copy(),
    if call.kernel.endswith("_bwd_weight_sgd_s8"):
        p = params[next(a.layer for a in call.args if isinstance(a, Param))]
        grad_w, grad_b, _, _ = source.probe
        return _channels(grad_w, p.conv, p.k), grad_b, p.w_train.copy(), p.bias.copy()
    return source.probe


_DTYPES = {"int8": np.int8, "int32": np.int32, "bit": np.uint8}


def _resolve(graph: TrainingGraph, call: KernelCall, source: CountedCall, params: dict[str, LayerParams]) -> list:
    """The scheme's call with the source's data: integers and parameters of the scheme, arena
    tensors, exponents and globals as the full update had them at the same argument (a
    full-width weight gradient cut to the scheme's channels). A call with no source of its own
    (a fused pair, a channel copy) reads no data: its tensors are zeros of their size."""
    names = [p.name for p in parse_header()[call.kernel].params]
    if source.args is None:
        src = {name: np.zeros(graph.tensors[a.name].nbytes, np.uint8).view(_DTYPES[graph.tensors[a.name].dtype])
               for name, a in zip(names, call.args) if isinstance(a, Tensor)}
    else:
        src = _named(call.kernel, source.args)
    layer = next((a.layer for a in call.args if isinstance(a, Param)), None)
    out = []
    for name, a in zip(names, call.args):
        if isinstance(a, Param):
            out.append(params[a.layer].array(a.field))
        elif isinstance(a, Null):
            out.append(np.zeros(0, a.dtype))
        elif isinstance(a, (Tensor, Exponent, Global)):
            v = src.get(name, np.zeros(0, np.int8))
            if call.kernel == "tb_sgd_update_s8" and name == "grad_w":
                v = _channels(v, params[layer].conv, params[layer].k)
            out.append(v)
        else:
            out.append(a)
    return out


def count_from_profile(profile: DataProfile, graph: TrainingGraph, params: dict[str, LayerParams],
                       op_index: int, kernel_set: str = "reference") -> list[CallCounts]:
    """The step-0 counts of every call of one op of ``graph``, from the model's profile (the
    same call of the same op on the same model counts the same: it is computed once)."""
    profile.cover(graph)
    op = graph.ops[op_index]
    out = []
    for call in op_calls(graph, op, params):
        key = (kernel_set, _key(graph, op, call.kernel),
               tuple(a if isinstance(a, int) else type(a).__name__ for a in call.args))
        if key not in profile.memo:
            source = _source(profile, graph, op, call)
            args = _resolve(graph, call, source, params)
            profile.memo[key] = count(call.kernel, args, _probe(call, source, params, _named(call.kernel, args)),
                                      kernel_set)
        out.append(CallCounts(call.kernel, profile.memo[key]))
    return out


def count_graph(profile: DataProfile, graph: TrainingGraph, lr: float, qas: bool,
                kernel_set: str = "reference") -> list[list[CallCounts]]:
    """Step-0 counts of every op of ``graph`` (a step of the profile's model)."""
    params = layer_params(graph, lr, qas)
    return [count_from_profile(profile, graph, params, i, kernel_set) for i in range(len(graph.ops))]
