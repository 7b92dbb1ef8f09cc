"""The typed graph IR of an int8 inference model: the contract every later stage reads.

Layouts (documented in docs/design.md, relied on by the kernels):
- activations are HWC int8 (batch 1), a tensor shape is ``(H, W, C)``;
- convolution weights are OHWI int8 ``[C_out, k, k, C_in / groups]`` (a depthwise filter is
  ``[C, k, k, 1]``), biases int32 ``[C_out]`` in units of ``x_scale * w_scale[c]``;
- every requantization factor is carried both as the real number and as the fixed-point
  pair (multiplier, shift) of :mod:`tinybench.models.quant`.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

import numpy as np

from tinybench.errors import TinybenchError
from tinybench.models.quant import quantize_multiplier, quantize_multipliers

Shape = tuple[int, int, int]


@dataclass(frozen=True)
class QuantParams:
    """Affine int8 quantization: ``real = scale * (q - zero_point)``."""

    scale: float
    zero_point: int


class ConvKind(str, enum.Enum):
    """Which kernel a convolution runs on; the classifier is a pointwise conv on 1x1xC."""

    CONV = "conv"
    DEPTHWISE = "depthwise"
    POINTWISE = "pointwise"
    CLASSIFIER = "classifier"


@dataclass(eq=False)
class Conv:
    """A quantized convolution with its output clamp (the folded ReLU/ReLU6)."""

    name: str
    index: int  # position among all convolutions, from the input (the paper's numbering)
    kind: ConvKind
    input: str
    output: str
    in_shape: Shape
    out_shape: Shape
    kernel: int
    stride: int
    groups: int
    weight: np.ndarray  # int8 [C_out, k, k, C_in / groups]
    bias: np.ndarray  # int32 [C_out]
    x: QuantParams
    y: QuantParams
    w_scales: np.ndarray  # float64 [C_out]
    multiplier: np.ndarray = field(init=False)  # int32 [C_out]
    shift: np.ndarray = field(init=False)  # int32 [C_out]

    def __post_init__(self) -> None:
        self.multiplier, self.shift = quantize_multipliers(
            self.x.scale * self.w_scales / self.y.scale
        )

    @property
    def padding(self) -> int:
        return self.kernel // 2

    @property
    def in_channels(self) -> int:
        return self.in_shape[2]

    @property
    def out_channels(self) -> int:
        return self.out_shape[2]

    @property
    def macs(self) -> int:
        h, w, c = self.out_shape
        return h * w * c * self.kernel * self.kernel * (self.in_channels // self.groups)

    @property
    def params(self) -> int:
        return int(self.weight.size + self.bias.size)


@dataclass(eq=False)
class Add:
    """Residual add of the block input ``a`` and the block branch ``b``, requantized to ``y``.

    ``y = clamp(zy + ((a - za) * ma + (b - zb) * mb + 2**(s-1)) >> s)`` with the two
    multipliers sharing one shift (see :func:`quantize_multiplier_pair`).
    """

    name: str
    inputs: tuple[str, str]  # (block input a, branch output b)
    output: str
    shape: Shape
    a: QuantParams
    b: QuantParams
    y: QuantParams
    multiplier_a: int = field(init=False)
    multiplier_b: int = field(init=False)
    shift: int = field(init=False)

    def __post_init__(self) -> None:
        self.multiplier_a, self.multiplier_b, self.shift = quantize_multiplier_pair(
            self.a.scale / self.y.scale, self.b.scale / self.y.scale
        )


@dataclass(eq=False)
class AvgPool:
    """Global average pool, HxWxC -> 1x1xC, same quantization in and out (rounded mean)."""

    name: str
    input: str
    output: str
    in_shape: Shape
    q: QuantParams

    @property
    def out_shape(self) -> Shape:
        return (1, 1, self.in_shape[2])


Op = Conv | Add | AvgPool


@dataclass(frozen=True)
class TensorSpec:
    """An activation tensor of the forward graph."""

    name: str
    shape: Shape
    q: QuantParams

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


class InputError(TinybenchError):
    """An input image that does not fit the model (shape, layout or dtype)."""


@dataclass(eq=False)
class Model:
    """A forward graph: ops in execution order over named HWC int8 tensors."""

    name: str
    ops: list[Op]
    tensors: dict[str, TensorSpec]
    input: str
    output: str

    @property
    def convs(self) -> list[Conv]:
        return [op for op in self.ops if isinstance(op, Conv)]

    @property
    def classifier(self) -> Conv:
        return self.convs[-1]

    @property
    def num_classes(self) -> int:
        return self.classifier.out_channels

    @property
    def input_shape(self) -> Shape:
        return self.tensors[self.input].shape

    @property
    def macs(self) -> int:
        return sum(c.macs for c in self.convs)

    @property
    def params(self) -> int:
        return sum(c.params for c in self.convs)

    def check_image(self, image: object) -> np.ndarray:
        """``image`` if it is the model's int8 HWC input, else an InputError saying what
        differs: a CHW, uint8 or float image has the right number of bytes and would give
        wrong logits without a word."""
        shape = self.input_shape
        if not isinstance(image, np.ndarray):
            raise InputError(f"image: expected an int8 numpy array of shape {shape} (HWC), "
                             f"got {type(image).__name__}")
        if image.shape != shape:
            layout = " (channels first? the input is HWC)" if image.shape == (shape[2], *shape[:2]) else ""
            raise InputError(f"image: shape {image.shape}, expected {shape}{layout}")
        if image.dtype != np.int8:
            raise InputError(f"image: dtype {image.dtype}, expected int8 (quantized with the input's "
                             f"scale and zero point)")
        return image

    def check_label(self, label: object) -> int:
        """``label`` as an int if it names one of the classes, else an InputError (the loss
        kernel indexes the logits with it)."""
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)) \
                or not 0 <= label < self.num_classes:
            raise InputError(f"label: {label!r} is not a class of the model (an integer in "
                             f"[0, {self.num_classes - 1}])")
        return int(label)

    def copy(self) -> "Model":
        """A deep copy whose parameters can be trained without touching the original."""
        return copy.deepcopy(self)

    def producer(self, tensor: str) -> Op | None:
        """The op that writes ``tensor`` (None for the model input)."""
        for op in self.ops:
            if op.output == tensor:
                return op
        return None


_CONV_INDEX: "WeakKeyDictionary[Model, tuple[tuple[int, ...], dict[str, Conv]]]" = WeakKeyDictionary()


def convs_by_name(model: Model) -> dict[str, Conv]:
    """``model``'s convolutions by name, built once per model and rebuilt if its op list
    changes: the tiling choice looks up the layer of every band op of every candidate."""
    ops = tuple(map(id, model.ops))
    cached = _CONV_INDEX.get(model)
    if cached is None or cached[0] != ops:
        cached = (ops, {c.name: c for c in model.convs})
        _CONV_INDEX[model] = cached
    return cached[1]


def quantize_multiplier_pair(real_a: float, real_b: float) -> tuple[int, int, int]:
    """Two multipliers on one shift, so that ``(a*ma + b*mb) >> s`` rounds once.

    The larger factor gets full Q31 precision; the smaller shares its shift.
    """
    big = max(real_a, real_b)
    m_big, s = quantize_multiplier(big)
    if m_big == 0:
        return 0, 0, s
    scale = 2.0**s
    return int(round(real_a * scale)), int(round(real_b * scale)), s
