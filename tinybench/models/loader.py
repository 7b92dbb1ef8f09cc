"""Turn the paper's model dict (see ../shared/models/README.md) into the typed IR.

Every field is checked against what the IR needs; a problem is reported with the file and
the field path (``blocks[3].depthwise.params.weight``) so a user can find it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinybench.errors import quote
from tinybench.models.container import ModelFormatError, read_container
from tinybench.models.ir import Add, AvgPool, Conv, ConvKind, Model, Op, QuantParams, TensorSpec
from tinybench.models.limits import MAX_CHANNELS, MAX_CONVS, MAX_INPUT_SIZE, MAX_SCALE, MIN_SCALE, SizeTally
from tinybench.models.quant import QuantizationError


class _Reader:
    """Typed access to the nested dict, raising ModelFormatError with the field path.

    It also keeps the running totals the limits of :mod:`tinybench.models.limits` bound,
    checked before anything is copied or allocated for a layer."""

    def __init__(self, path: str):
        self.path = path
        self.sizes = SizeTally()

    def fail(self, where: str, problem: str) -> ModelFormatError:
        return ModelFormatError(self.path, f"{where}: {problem}")

    def get(self, obj: Any, key: str, where: str) -> Any:
        if not isinstance(obj, dict):
            raise self.fail(where, f"expected a dict, found {type(obj).__name__}")
        if key not in obj:
            raise self.fail(f"{where}.{key}" if where else key, "missing key")
        return obj[key]

    def integer(self, obj: Any, key: str, where: str) -> int:
        value = self.get(obj, key, where)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise self.fail(f"{where}.{key}", f"expected an integer, found {quote(value)}")
        return int(value)

    def dimension(self, obj: Any, key: str, where: str, largest: int) -> int:
        """A size (channels, height, kernel) in [1, largest]."""
        value = self.integer(obj, key, where)
        if not 1 <= value <= largest:
            raise self.fail(f"{where}.{key}", f"{quote(value)} outside the allowed range [1, {largest:,}]")
        return value

    def kernel(self, obj: Any, where: str) -> int:
        """``kernel_size``: stored as ``(k, k)``; a plain ``k`` is accepted too."""
        value = self.get(obj, "kernel_size", where)
        if isinstance(value, (tuple, list)) and len(value) == 2:
            if not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in value):
                raise self.fail(f"{where}.kernel_size", f"expected (k, k) with an integer k, found {quote(value)}")
            if value[0] != value[1]:
                raise self.fail(f"{where}.kernel_size", f"{quote(value)}: only square kernels are supported")
            value = value[0]
        elif not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
            raise self.fail(f"{where}.kernel_size", f"expected (k, k) with an integer k, found {quote(value)}")
        return self.dimension({"kernel_size": value}, "kernel_size", where, MAX_INPUT_SIZE)

    def scale(self, obj: Any, key: str, where: str) -> float:
        value = self.get(obj, key, where)
        real = None
        if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, (bool, np.bool_)):
            try:
                real = float(value)
            except OverflowError:
                pass
        if real is None or not MIN_SCALE <= real <= MAX_SCALE:
            raise self.fail(f"{where}.{key}", f"expected a scale in [2**-64, 2**32], found {quote(value)}")
        return real

    def zero_point(self, obj: Any, key: str, where: str) -> int:
        value = self.integer(obj, key, where)
        if not -128 <= value <= 127:
            raise self.fail(f"{where}.{key}", f"zero point {value} outside [-128, 127]")
        return value

    def array(self, obj: Any, key: str, where: str, dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
        """An array of exactly ``shape``; of exactly ``dtype``, or of any floating dtype for
        ``dtype=float``."""
        value = self.get(obj, key, where)
        if not isinstance(value, np.ndarray):
            raise self.fail(f"{where}.{key}", f"expected a numpy array, found {type(value).__name__}")
        if value.shape != shape:
            raise self.fail(f"{where}.{key}", f"shape {value.shape}, expected {shape}")
        if dtype is float:
            if value.dtype.kind != "f":
                raise self.fail(f"{where}.{key}", f"dtype {value.dtype}, expected a floating-point dtype")
        elif value.dtype != np.dtype(dtype):
            raise self.fail(f"{where}.{key}", f"dtype {value.dtype}, expected {np.dtype(dtype)}")
        return value

    def count(self, where: str, parameter_bytes: int, activation_bytes: int) -> None:
        """Add a layer's parameters and output to the totals, refusing a model beyond the limits."""
        problem = self.sizes.add(parameter_bytes, activation_bytes)
        if problem:
            raise self.fail(where, problem)


def _conv_from_dict(
    r: _Reader, d: Any, where: str, index: int, input_name: str, input_spec: TensorSpec, classifier: bool
) -> tuple[Conv, TensorSpec]:
    cin = r.dimension(d, "in_channel", where, MAX_CHANNELS)
    cout = r.dimension(d, "out_channel", where, MAX_CHANNELS)
    k = r.kernel(d, where)
    stride = r.integer(d, "stride", where)
    groups = r.integer(d, "groups", where)
    if cin != input_spec.shape[2]:
        raise r.fail(f"{where}.in_channel", f"{cin}, but its input has {input_spec.shape[2]} channels")
    if groups not in (1, cin) or cin % groups:
        raise r.fail(f"{where}.groups", f"{groups} (only 1 or in_channel={cin} are supported)")
    if k % 2 != 1 or stride not in (1, 2):
        raise r.fail(where, f"kernel {k} stride {stride}: need an odd kernel and stride 1 or 2")
    h, w, _ = input_spec.shape
    if not classifier:
        in_size = r.integer(d, "in_shape", where)
        if in_size != h:
            raise r.fail(f"{where}.in_shape", f"{in_size}, but its input is {h}x{w}")
    out_h, out_w = -(-h // stride), -(-w // stride)
    if not classifier:
        out_size = r.integer(d, "out_shape", where)
        if out_size != out_h:
            raise r.fail(f"{where}.out_shape", f"{out_size}, expected {out_h} for stride {stride}")
    r.count(where, cout * (cin // groups) * k * k + 4 * cout, out_h * out_w * cout)
    p = r.get(d, "params", where)
    pw = f"{where}.params"
    weight = r.array(p, "weight", pw, np.int8, (cout, cin // groups, k, k))
    bias = r.array(p, "bias", pw, np.int32, (cout,))
    w_scales = r.array(p, "w_scales", pw, float, (cout,)).astype(np.float64)
    if not np.all((w_scales >= MIN_SCALE) & (w_scales <= MAX_SCALE)):
        raise r.fail(f"{pw}.w_scales", "every weight scale must be positive and finite, in [2**-64, 2**32]")
    x = QuantParams(r.scale(p, "x_scale", pw), r.zero_point(p, "x_zero", pw))
    y = QuantParams(r.scale(p, "y_scale", pw), r.zero_point(p, "y_zero", pw))
    if x != input_spec.q:
        raise r.fail(f"{pw}.x_scale", f"input quantization {x} differs from its producer's {input_spec.q}")
    if classifier:
        kind = ConvKind.CLASSIFIER
    elif groups == cin and groups > 1:
        kind = ConvKind.DEPTHWISE
    elif k == 1:
        kind = ConvKind.POINTWISE
    else:
        kind = ConvKind.CONV
    out = TensorSpec(f"{where}.out", (out_h, out_w, cout), y)
    try:
        conv = Conv(name=where, index=index, kind=kind, input=input_name, output=out.name,
                    in_shape=input_spec.shape, out_shape=out.shape, kernel=k, stride=stride, groups=groups,
                    weight=np.ascontiguousarray(weight.transpose(0, 2, 3, 1)), bias=bias.copy(), x=x, y=y,
                    w_scales=w_scales)
    except QuantizationError as err:
        raise r.fail(pw, f"x_scale * w_scales / y_scale has no fixed-point form: {err}") from None
    return conv, out


def model_from_dict(raw: dict[str, Any], name: str, path: str = "<memory>") -> Model:
    """Build the IR from the paper's dict layout; ``path`` only labels errors."""
    r = _Reader(path)
    input_size = r.dimension(r.get(raw, "first_conv", ""), "in_shape", "first_conv", MAX_INPUT_SIZE)
    input_spec = TensorSpec("input", (input_size, input_size, 3), QuantParams(1 / 127.5, 0))
    tensors: dict[str, TensorSpec] = {input_spec.name: input_spec}
    ops: list[Op] = []
    current = input_spec

    n_convs = 0

    def add_conv(d: Any, where: str, classifier: bool = False) -> None:
        nonlocal current, n_convs
        if n_convs == MAX_CONVS:
            raise r.fail(where, f"more than {MAX_CONVS} convolutions")
        conv, out = _conv_from_dict(r, d, where, n_convs, current.name, current, classifier)
        n_convs += 1
        ops.append(conv)
        tensors[out.name] = out
        current = out

    add_conv(r.get(raw, "first_conv", ""), "first_conv")
    blocks = r.get(raw, "blocks", "")
    if not isinstance(blocks, list) or not blocks:
        raise r.fail("blocks", "expected a non-empty list")
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        block_input = current
        for key in ("se",):
            if r.get(block, key, where) is not None:
                raise r.fail(f"{where}.{key}", "squeeze-and-excitation is not supported")
        if r.get(block, "pointwise1", where) is not None:
            add_conv(block["pointwise1"], f"{where}.pointwise1")
        add_conv(r.get(block, "depthwise", where), f"{where}.depthwise")
        add_conv(r.get(block, "pointwise2", where), f"{where}.pointwise2")
        residual = r.get(block, "residual", where)
        if residual is not None:
            rw = f"{where}.residual"
            rp = r.get(residual, "params", rw)
            a = QuantParams(r.scale(rp, "x_scale", f"{rw}.params"), r.zero_point(rp, "x_zero", f"{rw}.params"))
            y = QuantParams(r.scale(rp, "y_scale", f"{rw}.params"), r.zero_point(rp, "y_zero", f"{rw}.params"))
            if a != block_input.q or current.shape != block_input.shape:
                raise r.fail(rw, f"block input {block_input.shape} {block_input.q} does not match "
                                 f"the branch output {current.shape} or the residual's x params {a}")
            r.count(rw, 0, current.size)
            out = TensorSpec(f"{where}.add.out", current.shape, y)
            try:
                ops.append(Add(f"{where}.add", (block_input.name, current.name), out.name, current.shape,
                               a, current.q, y))
            except QuantizationError as err:
                raise r.fail(f"{rw}.params", f"x_scale / y_scale has no fixed-point form: {err}") from None
            tensors[out.name] = out
            current = out
    if r.get(raw, "feature_mix", "") is not None:
        raise r.fail("feature_mix", "a feature-mix layer is not supported")
    pooled = TensorSpec("pool.out", (1, 1, current.shape[2]), current.q)
    ops.append(AvgPool("pool", current.name, pooled.name, current.shape, current.q))
    tensors[pooled.name] = pooled
    current = pooled
    add_conv(r.get(raw, "classifier", ""), "classifier", classifier=True)
    return Model(name=name, ops=ops, tensors=tensors, input=input_spec.name, output=current.name)


def load_model_file(path: str | Path, name: str | None = None) -> Model:
    """Load an untrusted model file into the IR (clear errors, no code execution)."""
    path = Path(path)
    return model_from_dict(read_container(path), name or path.stem, str(path))
