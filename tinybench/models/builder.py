"""Define small int8 models compactly, and give a model a new classifier head.

Used by tests (random graphs of any size) and by users describing their own
architectures. Weights are seeded random int8; scales follow the spread of the signal
(a running estimate of each tensor's real standard deviation) so that every layer's
output uses the int8 range instead of collapsing to the zero point.

Spec strings, one layer per token, separated by spaces::

    conv:C:K:S         general conv to C channels, kernel K, stride S (ReLU)
    dw:K:S             depthwise conv (ReLU)
    pw:C               pointwise conv (ReLU)
    block:E:C:K:S      inverted residual: pw to E*C_in (if E > 1), dw K/S, linear pw to C;
                       a residual add when S == 1 and C == C_in
    classifier:N       global average pool, then a 1x1 classifier to N classes
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from tinybench.errors import TinybenchError, quote
from tinybench.models.ir import Add, AvgPool, Conv, ConvKind, Model, Op, QuantParams, Shape, TensorSpec
from tinybench.models.limits import MAX_CHANNELS, MAX_CONVS, MAX_INPUT_SIZE, SizeTally

_INPUT_Q = QuantParams(1 / 127.5, 0)
_INPUT_STD = 0.5  # real std of an image scaled to [-1, 1]


class ModelSpecError(TinybenchError):
    """A model description (spec string, layer arguments, input shape) that cannot be built."""


class ModelBuilder:
    """Append layers to a forward graph; :meth:`build` returns the finished Model."""

    def __init__(self, name: str, input_shape: Shape, seed: int = 0):
        shape = tuple(input_shape)
        if (len(shape) != 3 or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape)
                or not (1 <= shape[0] <= MAX_INPUT_SIZE and 1 <= shape[1] <= MAX_INPUT_SIZE
                        and 1 <= shape[2] <= MAX_CHANNELS)):
            raise ModelSpecError(f"input shape {quote(input_shape)}: expected (H, W, C) with H and W in "
                                 f"[1, {MAX_INPUT_SIZE}] and C in [1, {MAX_CHANNELS}]")
        self.name = name
        self.rng = np.random.default_rng(seed)
        spec = TensorSpec("input", tuple(int(n) for n in shape), _INPUT_Q)
        self.tensors: dict[str, TensorSpec] = {spec.name: spec}
        self.ops: list[Op] = []
        self.current = spec
        self.std: dict[str, float] = {spec.name: _INPUT_STD}
        self._n_conv = 0
        self._pooled = False
        self._sizes = SizeTally()

    # -- layers ---------------------------------------------------------------------------
    def conv(self, out_channels: int, kernel: int = 3, stride: int = 1, relu: bool = True,
             depthwise: bool = False, name: str | None = None) -> "ModelBuilder":
        if self._pooled:
            raise ModelSpecError("no convolution can follow the classifier")
        h, w, cin = self.current.shape
        groups = cin if depthwise else 1
        if depthwise:
            out_channels = cin
        kind = ConvKind.DEPTHWISE if depthwise else (ConvKind.POINTWISE if kernel == 1 else ConvKind.CONV)
        return self._append_conv(kind, out_channels, kernel, stride, groups, relu,
                                 name or f"layers[{self._n_conv}].{kind.value}")

    def depthwise(self, kernel: int = 3, stride: int = 1, relu: bool = True) -> "ModelBuilder":
        return self.conv(0, kernel, stride, relu, depthwise=True)

    def pointwise(self, out_channels: int, relu: bool = True) -> "ModelBuilder":
        return self.conv(out_channels, 1, 1, relu)

    def block(self, expand: int, out_channels: int, kernel: int = 3, stride: int = 1) -> "ModelBuilder":
        """An inverted-residual block as in MobileNetV2 / MCUNet."""
        block_input = self.current
        if expand > 1:
            self.pointwise(expand * block_input.shape[2])
        self.depthwise(kernel, stride)
        self.pointwise(out_channels, relu=False)
        if stride == 1 and out_channels == block_input.shape[2]:
            self._residual(block_input)
        return self

    def classifier(self, num_classes: int) -> "ModelBuilder":
        pooled = TensorSpec("pool.out", (1, 1, self.current.shape[2]), self.current.q)
        self.ops.append(AvgPool("pool", self.current.name, pooled.name, self.current.shape, self.current.q))
        self.tensors[pooled.name] = pooled
        self.std[pooled.name] = self.std[self.current.name] / 2
        self.current = pooled
        self._pooled = True
        return self._append_conv(ConvKind.CLASSIFIER, num_classes, 1, 1, 1, False, "classifier")

    def build(self) -> Model:
        if not self._pooled:
            raise ModelSpecError("a model must end with a classifier")
        return Model(self.name, self.ops, self.tensors, "input", self.current.name)

    # -- internals ------------------------------------------------------------------------
    def _append_conv(self, kind: ConvKind, cout: int, k: int, stride: int, groups: int,
                     relu: bool, name: str) -> "ModelBuilder":
        if not 1 <= cout <= MAX_CHANNELS or not 1 <= k <= MAX_INPUT_SIZE or k % 2 == 0 or stride not in (1, 2):
            raise ModelSpecError(f"{name}: need channels in [1, {MAX_CHANNELS}], an odd kernel and stride 1 or 2")
        h, w, cin = self.current.shape
        if self._n_conv == MAX_CONVS:
            raise ModelSpecError(f"{name}: more than {MAX_CONVS} convolutions")
        problem = self._sizes.add(cout * k * k * (cin // groups) + 4 * cout, -(-h // stride) * -(-w // stride) * cout)
        if problem:
            raise ModelSpecError(f"{name}: {problem}")
        fan_in = k * k * (cin // groups)
        weight = self.rng.integers(-127, 128, size=(cout, k, k, cin // groups), dtype=np.int8)
        w_real_std = math.sqrt(2.0 / fan_in)
        w_scales = w_real_std / 73.3 * self.rng.uniform(0.7, 1.3, size=cout)  # 73.3 = std of U[-127,127]
        x = self.current.q
        acc_std = math.sqrt(fan_in) * self.std[self.current.name] * w_real_std
        y = QuantParams(4 * acc_std / 255, -128) if relu else QuantParams(4 * acc_std / 127, 0)
        bias_real = self.rng.normal(0, 0.1 * acc_std, size=cout)
        bias = np.round(bias_real / (x.scale * w_scales)).astype(np.int32)
        out = TensorSpec(f"{name}.out", (-(-h // stride), -(-w // stride), cout), y)
        self.ops.append(Conv(name, self._n_conv, kind, self.current.name, out.name, self.current.shape,
                             out.shape, k, stride, groups, weight, bias, x, y, w_scales))
        self._n_conv += 1
        self.tensors[out.name] = out
        self.std[out.name] = acc_std * (0.6 if relu else 1.0)
        self.current = out
        return self

    def _residual(self, block_input: TensorSpec) -> None:
        std = math.hypot(self.std[block_input.name], self.std[self.current.name])
        y = QuantParams(4 * std / 127, 0)
        name = f"layers[{self._n_conv - 1}].add"
        out = TensorSpec(f"{name}.out", self.current.shape, y)
        self.ops.append(Add(name, (block_input.name, self.current.name), out.name, out.shape,
                            block_input.q, self.current.q, y))
        self.tensors[out.name] = out
        self.std[out.name] = std
        self.current = out


def build_model(spec: str, input_shape: Shape = (16, 16, 3), name: str = "custom", seed: int = 0) -> Model:
    """Build a model from a spec string (see the module docstring)."""
    builder = ModelBuilder(name, input_shape, seed)
    layers = {"conv": builder.conv, "dw": builder.depthwise, "pw": builder.pointwise,
              "block": builder.block, "classifier": builder.classifier}
    for token in spec.split():
        op, *fields = token.split(":")
        if op not in layers:
            raise ModelSpecError(f"unknown layer {quote(op)} in {quote(token)} (conv, dw, pw, block, classifier)")
        try:
            args = [int(f) for f in fields]
            inspect.signature(layers[op]).bind(*args)
        except (TypeError, ValueError) as err:
            raise ModelSpecError(f"bad layer {quote(token)}: {err}") from None
        layers[op](*args)
    return builder.build()


def with_new_head(model: Model, num_classes: int, seed: int = 0) -> Model:
    """A copy of ``model`` whose classifier is a new seeded head of ``num_classes`` classes.

    The new head keeps the old head's input and output quantization, zero biases and
    small random int8 weights (a fresh layer for transfer learning, as in the paper).
    """
    if not 2 <= num_classes <= MAX_CHANNELS:
        raise ModelSpecError(f"num_classes must be in [2, {MAX_CHANNELS}], got {num_classes}")
    new = model.copy()
    old = new.classifier
    rng = np.random.default_rng(seed)
    cin = old.in_channels
    weight = rng.integers(-127, 128, size=(num_classes, 1, 1, cin), dtype=np.int8)
    w_scales = np.full(num_classes, math.sqrt(1.0 / cin) / 73.3 / 4)
    head = Conv(old.name, old.index, old.kind, old.input, old.output, old.in_shape,
                (1, 1, num_classes), 1, 1, 1, weight, np.zeros(num_classes, np.int32),
                old.x, QuantParams(old.y.scale, 0), w_scales)
    new.ops[new.ops.index(old)] = head
    new.tensors[head.output] = TensorSpec(head.output, head.out_shape, head.y)
    return new
