"""Compile one training step (batch 1, softmax cross-entropy) ahead of time.

From a forward graph and a resolved scheme this derives the forward ops, the loss, the
backward ops that are needed and no others, the tensors they exchange (with dtypes and
sizes), and the SGD updates, in one of two schedules:

- ``reordered``: each layer's update runs as soon as its gradient exists, fused with the
  weight-gradient computation, so no gradient outlives its layer (the paper's operator
  reordering);
- ``unfused``: all gradients first, kept in int32 buffers, then all updates at the end,
  as a conventional framework does.

Which gradients are needed: the gradient of a tensor is computed iff the tensor is reachable
in the forward graph from the output of a convolution that updates something; so the
backward stops at the earliest updating layer, and a residual skip whose input lies before
it gets no gradient. Weight gradients cover only the first k input channels of a layer, so
only those channels of its input are saved; a layer on the backward path keeps a 1-bit clamp
mask of its output instead of its pre-activation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from tinybench.graph.schemes import ResolvedScheme
from tinybench.models.ir import Add, AvgPool, Conv, Model, Op


class Schedule(str, enum.Enum):
    REORDERED = "reordered"
    UNFUSED = "unfused"


class GradPrecision(str, enum.Enum):
    """Precision of activation and parameter gradients (the forward is always int8)."""

    INT8 = "int8"  # int8 activation gradients (pow2 scale), int32 parameter gradients
    FP32 = "fp32"  # float32 gradients, as the paper's engine used


class Category(str, enum.Enum):
    ACTIVATION = "activations"
    SAVED = "saved activations"
    MASK = "masks"
    GRADIENT = "gradients"
    SCRATCH = "scratch"


DTYPE_BYTES = {"int8": 1, "int32": 4, "float32": 4}


@dataclass
class Tensor:
    """A buffer of the training step that lives in the arena."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # int8 | int32 | float32 | bit (1-bit mask, packed 8 per byte)
    category: Category

    @property
    def elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        if self.dtype == "bit":
            return (self.elements + 7) // 8
        return self.elements * DTYPE_BYTES[self.dtype]


@dataclass
class TrainOp:
    """One kernel call of the training step.

    ``inplace`` names the input whose buffer the (first) output may overwrite when that
    input dies at this op; the planner decides whether it does. ``slices`` gives, for a
    tensor the op reads or writes only in part (a row band, see
    :mod:`tinybench.graph.tiling`), the byte range ``(offset, bytes)`` it touches.
    """

    name: str
    kind: str
    layer: str | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    inplace: str | None = None
    attrs: dict = field(default_factory=dict)
    slices: dict[str, tuple[int, int]] = field(default_factory=dict)

    def rows(self, tensor: "Tensor") -> int:
        """Rows of the HWC ``tensor`` this op touches."""
        if tensor.name not in self.slices:
            return tensor.shape[0]
        return self.slices[tensor.name][1] // (tensor.nbytes // tensor.shape[0])

    def elements(self, tensor: "Tensor") -> int:
        """Elements of ``tensor`` this op touches."""
        return tensor.elements * self.rows(tensor) // tensor.shape[0] if tensor.name in self.slices else tensor.elements


@dataclass
class TrainableParam:
    """Parameters of one layer held in SRAM because they are updated."""

    layer: str
    index: int
    weight_bytes: int  # int8 [C_out, k, k, weight_channels]
    bias_bytes: int  # int32 [C_out]
    weight_channels: int


@dataclass(frozen=True)
class Tiling:
    """The first ``ops`` ops of the untiled step run once per row band, ``tiles`` bands,
    assembling ``output``, the one tensor they pass on (see :mod:`tinybench.graph.tiling`)."""

    ops: int
    tiles: int
    output: str


@dataclass
class TrainingGraph:
    model: Model
    scheme: ResolvedScheme
    schedule: Schedule
    precision: GradPrecision
    ops: list[TrainOp]
    tensors: dict[str, Tensor]
    trainable: list[TrainableParam]
    tiling: Tiling | None = None

    @property
    def trainable_bytes(self) -> int:
        return sum(p.weight_bytes + p.bias_bytes for p in self.trainable)

    @property
    def frozen_bytes(self) -> int:
        """Parameters left in flash, with the per-channel requantization pairs (8 B/channel)."""
        total = 0
        trained = {p.layer: p for p in self.trainable}
        for conv in self.model.convs:
            p = trained.get(conv.name)
            total += conv.weight.size - (p.weight_bytes if p else 0)
            total += 0 if p and p.bias_bytes else conv.bias.size * 4
            total += conv.out_channels * 8
        return total


class _Compiler:
    """Builds the op list; one instance per compilation."""

    def __init__(self, model: Model, scheme: ResolvedScheme, schedule: Schedule, precision: GradPrecision):
        self.model = model
        self.scheme = scheme
        self.schedule = schedule
        self.precision = precision
        self.ops: list[TrainOp] = []
        self.tensors: dict[str, Tensor] = {}
        self.convs = {c.name: c for c in model.convs}
        self.needs_grad = self._tensors_needing_grad()
        self.grad_of: dict[str, str] = {}
        self._grad_serial = 0
        self.consumers: dict[str, int] = {}
        for op in model.ops:
            for t in _op_inputs(op):
                self.consumers[t] = self.consumers.get(t, 0) + 1
        self.consumers[model.output] = 1  # the loss
        self.read_by_backward = {
            c.input for c in model.convs
            if self._updates(c) and self.scheme.weight_channels(c.index) == c.in_channels
        }
        self.fused_into = self._fusable_pairs() if scheme.updates else {}

    # -- analysis ---------------------------------------------------------------------------
    def _updates(self, conv: Conv) -> bool:
        return conv.index in self.scheme.updates

    def _tensors_needing_grad(self) -> set[str]:
        """Tensors forward-reachable from the output of an updating convolution."""
        needed: set[str] = set()
        for op in self.model.ops:
            starts = isinstance(op, Conv) and self._updates(op)
            if starts or any(t in needed for t in _op_inputs(op)):
                needed.add(op.output)
        return needed

    def _op_needs_mask(self, op: Op) -> bool:
        """A clamp mask is kept for ops whose output gradient passes back through them."""
        if isinstance(op, AvgPool) or op.output not in self.needs_grad:
            return False
        return (isinstance(op, Conv) and self._updates(op)) or any(t in self.needs_grad for t in _op_inputs(op))

    # -- tensors ----------------------------------------------------------------------------
    def _add(self, name: str, shape: tuple[int, ...], dtype: str, category: Category) -> str:
        self.tensors[name] = Tensor(name, shape, dtype, category)
        return name

    def _grad_dtype(self) -> str:
        return "int8" if self.precision is GradPrecision.INT8 else "float32"

    def _param_grad_dtype(self) -> str:
        return "int32" if self.precision is GradPrecision.INT8 else "float32"

    def _new_grad(self, of: str) -> str:
        self._grad_serial += 1
        return self._add(f"grad{self._grad_serial}:{of}", self.tensors[of].shape, self._grad_dtype(),
                         Category.GRADIENT)

    def _contribute(self, tensor: str, grad: str, layer: str | None) -> None:
        """Record a gradient contribution to ``tensor``, summing with an earlier one."""
        if tensor not in self.grad_of:
            self.grad_of[tensor] = grad
            return
        total = self._new_grad(tensor)
        earlier = self.grad_of[tensor]
        self._emit("grad_add", layer, (earlier, grad), (total,), inplace=earlier)
        self.grad_of[tensor] = total

    def _emit(self, kind: str, layer: str | None, inputs: tuple[str, ...], outputs: tuple[str, ...],
              inplace: str | None = None, **attrs) -> TrainOp:
        op = TrainOp(f"{kind}:{layer}" if layer else kind, kind, layer, inputs, outputs, inplace, attrs)
        self.ops.append(op)
        return op

    # -- compilation ------------------------------------------------------------------------
    def compile(self) -> TrainingGraph:
        for name, spec in self.model.tensors.items():
            self._add(name, spec.shape, "int8", Category.ACTIVATION)
        for op in self.model.ops:
            self._forward(op)
        if self.scheme.updates:
            self._loss()
            for op in reversed(self.model.ops):
                if op.output in self.needs_grad:
                    self._backward(op)
            if self.schedule is Schedule.UNFUSED:
                for conv in self.model.convs:
                    if self._updates(conv):
                        self._unfused_update(conv)
        self._mark_saved()
        used = {t for op in self.ops for t in op.inputs + op.outputs}
        self.tensors = {n: t for n, t in self.tensors.items() if n in used}  # fused tensors never exist
        return TrainingGraph(self.model, self.scheme, self.schedule, self.precision, self.ops,
                             self.tensors, self._trainable())

    def _forward(self, op: Op) -> None:
        outputs = [op.output]
        if self._op_needs_mask(op):
            outputs.append(self._add(f"mask:{op.output}", self.model.tensors[op.output].shape, "bit",
                                     Category.MASK))
        if isinstance(op, Conv):
            if op.name in self.fused_into:
                return  # computed plane by plane inside the following depthwise (pwdw_fwd)
            k = self.scheme.weight_channels(op.index)
            if 0 < k < op.in_channels:
                h, w, _ = op.in_shape
                outputs.append(self._add(f"saved:{op.name}", (h, w, k), "int8", Category.SAVED))
            if op.name in self.fused_into.values():
                self._forward_fused(op, tuple(outputs))
            elif k == 0 and self._dies_in_forward(op.input):
                self._emit("conv_fwd", op.name, (op.input,), tuple(outputs), inplace=op.input,
                           conv_kind=op.kind.value, overlap=stream_overlap(op))
            else:
                self._emit("conv_fwd", op.name, (op.input,), tuple(outputs), conv_kind=op.kind.value)
        elif isinstance(op, Add):
            # The branch output b usually dies here, so the sum can overwrite it.
            self._emit("add_fwd", op.name, op.inputs, tuple(outputs), inplace=op.inputs[1])
        else:
            self._emit("avgpool_fwd", op.name, (op.input,), tuple(outputs))

    # -- forward memory optimisations of the frozen part ----------------------------------------
    def _dies_in_forward(self, tensor: str) -> bool:
        """True if ``tensor`` has one forward consumer and is never read by the backward."""
        return self.consumers.get(tensor, 0) == 1 and tensor not in self.read_by_backward

    def _fusable_pairs(self) -> dict[str, str]:
        """Pointwise -> depthwise pairs of the frozen forward to compute channel by channel.

        The expanded tensor of an inverted-residual block is the largest of the forward; when
        nothing in the backward needs it, the depthwise can consume each of its channel planes
        as the pointwise produces it, so it never exists whole (only one H x W plane does).
        """
        fused = {}
        ops = self.model.ops
        for a, b in zip(ops, ops[1:]):
            if (isinstance(a, Conv) and isinstance(b, Conv) and a.kind.value == "pointwise" and a.stride == 1
                    and b.groups > 1 and b.input == a.output and a.output not in self.needs_grad
                    and not self._updates(a) and self.scheme.weight_channels(b.index) == 0
                    and self._dies_in_forward(a.output)):
                fused[a.name] = b.name
        return fused

    def _forward_fused(self, dw: Conv, outputs: tuple[str, ...]) -> None:
        pw = next(c for c, d in self.fused_into.items() if d == dw.name)
        pw_conv = self.convs[pw]
        plane = self._add(f"scratch:{pw}", pw_conv.out_shape[:2], "int8", Category.SCRATCH)
        self._emit("pwdw_fwd", dw.name, (pw_conv.input, plane), outputs, pointwise=pw)

    def _loss(self) -> None:
        logits = self.model.output
        classes = self.model.num_classes
        grad = self._new_grad(logits)
        self._emit("loss_grad", None, (logits,), (grad,), num_classes=classes)
        self.grad_of[logits] = grad

    def _backward(self, op: Op) -> None:
        dy = self.grad_of[op.output]
        if isinstance(op, Conv):
            self._backward_conv(op, dy)
        elif isinstance(op, Add):
            mask = f"mask:{op.output}"
            dsum = self._new_grad(op.output)
            self._emit("add_bwd", op.name, (dy, mask), (dsum,), inplace=dy)
            for t in op.inputs:
                if t in self.needs_grad:
                    self._contribute(t, dsum, op.name)
        else:
            if op.input in self.needs_grad:
                dx = self._new_grad(op.input)
                self._emit("avgpool_bwd", op.name, (dy,), (dx,))
                self._contribute(op.input, dx, op.name)

    def _backward_conv(self, conv: Conv, dy: str) -> None:
        mask = f"mask:{conv.output}"
        k = self.scheme.weight_channels(conv.index)
        saved = self._saved_input(conv, k)
        updates = self._updates(conv)
        if updates and self.schedule is Schedule.UNFUSED:
            grads = self._param_grads(conv, k)
            self._emit("conv_bwd_params", conv.name, (dy, mask) + saved, grads,
                       weight_channels=k, bias=self.scheme.updates_bias(conv.index))
        if conv.input in self.needs_grad:
            dx = self._new_grad(conv.input)
            self._emit("conv_bwd_input", conv.name, (dy, mask), (dx,), conv_kind=conv.kind.value)
            self._contribute(conv.input, dx, conv.name)
        if updates and self.schedule is Schedule.REORDERED:
            self._emit("conv_bwd_update", conv.name, (dy, mask) + saved, (),
                       weight_channels=k, bias=self.scheme.updates_bias(conv.index))

    def _saved_input(self, conv: Conv, k: int) -> tuple[str, ...]:
        if k == 0:
            return ()
        return (conv.input,) if k == conv.in_channels else (f"saved:{conv.name}",)

    def _param_grads(self, conv: Conv, k: int) -> tuple[str, ...]:
        dtype = self._param_grad_dtype()
        names = [self._add(f"bgrad:{conv.name}", (conv.out_channels,), dtype, Category.GRADIENT)]
        if k:  # a depthwise filter has one input channel: its first k channels, [k, kernel, kernel, 1]
            shape = (k, conv.kernel, conv.kernel, 1) if conv.groups > 1 else (conv.out_channels, conv.kernel,
                                                                              conv.kernel, k)
            names.append(self._add(f"wgrad:{conv.name}", shape, dtype, Category.GRADIENT))
        return tuple(names)

    def _unfused_update(self, conv: Conv) -> None:
        grads = tuple(n for n in (f"bgrad:{conv.name}", f"wgrad:{conv.name}") if n in self.tensors)
        self._emit("sgd_update", conv.name, grads, (), weight_channels=self.scheme.weight_channels(conv.index))

    def _mark_saved(self) -> None:
        """Forward activations read after the loss are the saved activations."""
        loss_at = next((i for i, op in enumerate(self.ops) if op.kind == "loss_grad"), len(self.ops))
        for op in self.ops[loss_at + 1:]:
            for t in op.inputs:
                if self.tensors[t].category is Category.ACTIVATION:
                    self.tensors[t].category = Category.SAVED

    def _trainable(self) -> list[TrainableParam]:
        params = []
        for conv in self.model.convs:
            u = self.scheme.updates.get(conv.index)
            if u is None:
                continue
            k = u.weight_channels
            # a depthwise layer trains the filters of its first k channels, others [C_out, k, k, k_in]
            filters = k if conv.groups > 1 else conv.out_channels * k
            weight_bytes = filters * conv.kernel * conv.kernel
            params.append(TrainableParam(conv.name, conv.index, weight_bytes,
                                         conv.out_channels * 4 if u.bias else 0, k))
        return params


def stream_overlap(conv: Conv, rows: int | None = None) -> int:
    """Bytes by which a convolution's output must start below its input to overwrite it.

    The kernels compute output rows in increasing order, and output row r reads input rows
    from max(0, r*stride - pad) on. So row r may be written over input rows that no later
    output needs, provided ``out_base + (r+1)*out_row <= in_base + max(0, r*s - p)*in_row``
    for every r; the smallest such ``in_base - out_base`` is returned. The output then costs
    ``max(out_bytes, overlap + in_bytes)`` instead of ``out_bytes + in_bytes``. ``rows``: the
    input rows when the convolution runs on a row band (default: all).
    """
    _, w_out, c_out = conv.out_shape
    _, w_in, c_in = conv.in_shape
    h_out = -(-(rows or conv.in_shape[0]) // conv.stride)
    out_row, in_row = w_out * c_out, w_in * c_in
    return max((r + 1) * out_row - max(0, r * conv.stride - conv.padding) * in_row for r in range(h_out))


def _op_inputs(op: Op) -> tuple[str, ...]:
    return op.inputs if isinstance(op, Add) else (op.input,)


def compile_training(model: Model, scheme: ResolvedScheme, schedule: Schedule | str = Schedule.REORDERED,
                     precision: GradPrecision | str = GradPrecision.INT8) -> TrainingGraph:
    """Derive the training step of ``model`` under ``scheme`` (see the module docstring)."""
    return _Compiler(model, scheme, Schedule(schedule), GradPrecision(precision)).compile()
