"""Update schemes: which biases and which weight channels a training step updates.

Semantics follow the paper's code, ``algorithm/core/utils/partial_backward.py``: layers are
indexed 0..n_conv-1 from the input, the classifier last. The paper's ``get_all_conv_ops``
collects only the Conv2d modules, so the classifier (a linear layer there) is not counted by
``n_bias_update``, and it is always updated ("fc is always updated"). Hence:

- ``n_bias_update = k`` updates the biases of the last k convolutions *before* the classifier;
- ``manual_weight_idx`` lists convolutions that also update weights, each inside that window;
- ``weight_update_ratio[i]`` is the fraction of input channels updated (0 = bias only), the
  first round(ratio * C_in) of them, as in the paper's compiled graphs;
- ``n_weight_update = m`` (without a manual list) means the last m convolutions before the
  classifier;
- ``classifier`` says how the classifier is updated: ``full`` (the paper), ``bias`` or ``none``.

This reading is the one under which all 15 published schemes are valid: counting the
classifier inside ``n_bias_update`` (as ../shared/REFERENCE.md words it) would put weight
layer 21 of ``mcunet-5fps:74kb`` and layer 39 of ``proxyless-w0.3:49kb`` outside their window.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from tinybench.errors import TinybenchError, quote
from tinybench.models.ir import Conv, Model


class SchemeError(TinybenchError):
    """An invalid scheme; the message names the file, the field and the allowed range."""


#: Largest scheme file read (a scheme is a few lines).
MAX_SCHEME_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class Scheme:
    """A scheme as written (model independent until :func:`resolve`)."""

    name: str
    n_bias_update: int
    manual_weight_idx: tuple[int, ...] = ()
    weight_update_ratio: tuple[float, ...] = ()
    n_weight_update: int | None = None
    model: str | None = None  # the model a published or file scheme was written for
    classifier: str = "full"  # full | bias | none
    origin: str | None = None  # the file a scheme was read from, named in its errors

    @property
    def label(self) -> str:
        return f"{self.model}:{self.name}" if self.model else self.name


@dataclass(frozen=True)
class LayerUpdate:
    """What one convolution updates: its bias, and its first ``weight_channels`` input channels."""

    bias: bool
    weight_channels: int  # k: 0 = no weight update


@dataclass(frozen=True)
class ResolvedScheme:
    """A scheme bound to a model: the per-convolution updates, by conv index."""

    scheme: Scheme
    updates: dict[int, LayerUpdate] = field(default_factory=dict)

    @property
    def earliest(self) -> int | None:
        """Index of the earliest convolution that updates anything (where backward stops)."""
        return min(self.updates) if self.updates else None

    def weight_channels(self, index: int) -> int:
        u = self.updates.get(index)
        return u.weight_channels if u else 0

    def updates_bias(self, index: int) -> bool:
        u = self.updates.get(index)
        return bool(u and u.bias)


#: A ratio written as a string: "1/8", "0.25" or "1" (no exponent, so "1e999999999" cannot
#: make Fraction compute a billion-digit number).
_RATIO_TEXT = re.compile(r"\s*\d{1,9}(\.\d{1,9})?(\s*/\s*\d{1,9})?\s*")


def _ratio(value: Any) -> float:
    """A weight-update ratio: a number, or a fraction or decimal written as a string. The
    range [0, 1] is checked by :func:`resolve`, which names the layer."""
    if isinstance(value, str) and _RATIO_TEXT.fullmatch(value):
        try:
            return float(Fraction(value.replace(" ", "")))
        except ZeroDivisionError:
            raise SchemeError(f"ratio {quote(value)} divides by zero") from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise SchemeError(f"expected a number or a fraction such as \"1/8\", got {quote(value)}")


# The 15 published schemes (REFERENCE.md): model -> name -> (n_bias_update, idx, ratios).
_PUBLISHED: dict[str, dict[str, tuple[int, tuple[int, ...], tuple[str, ...]]]] = {
    "mcunet-5fps": {
        "49kb": (20, (23, 24, 27, 30, 33, 39), ("0", "1/4", "1/2", "1/2", "0", "0")),
        "74kb": (21, (21, 23, 24, 26, 27, 30), ("1", "0", "1", "0", "1/2", "1")),
        "99kb": (22, (21, 24, 27, 30, 36, 39), ("1", "1", "1", "1", "1/8", "1/4")),
        "124kb": (24, (21, 24, 27, 30, 33, 39), ("1/4", "1", "1", "1", "1/2", "1/2")),
        "148kb": (23, (21, 24, 27, 30, 36, 39), ("1", "1", "1", "1", "1", "1/2")),
    },
    "mbv2-w0.35": {
        "49kb": (16, (36, 39, 40, 41, 42, 45, 48, 49), ("1", "1", "0", "1/4", "1/8", "1/8", "1/8", "1/8")),
        "73kb": (20, (32, 33, 36, 39, 41, 42, 45, 48), ("1/8", "1/2", "1/2", "1", "1/4", "1/8", "1/8", "1")),
        "99kb": (25, (27, 30, 33, 36, 39, 42, 45, 48), ("1", "1", "1", "1", "1", "1/8", "1/2", "1")),
        "123kb": (31, (27, 30, 33, 36, 39, 42, 45, 48), ("1", "1", "1", "1", "1", "1/2", "1", "1")),
        "138kb": (34, (27, 30, 33, 36, 39, 42, 45, 48), ("1",) * 8),
    },
    "proxyless-w0.3": {
        "49kb": (21, (39, 42, 44, 45, 50, 51, 54, 57), ("1/4", "1", "0", "1", "0", "1/8", "1/4", "1/4")),
        "74kb": (28, (33, 36, 39, 42, 45, 51, 54, 57), ("1/2", "1/4", "1", "1", "1", "1/2", "1/4", "1/2")),
        "98kb": (25, (36, 39, 42, 45, 48, 51, 54, 57), ("1", "1/2", "1", "1", "1/4", "1/2", "1", "1")),
        "120kb": (32, (36, 39, 42, 45, 48, 51, 54, 57), ("1", "1", "1", "1", "1/2", "1", "1", "1")),
        "148kb": (45, (36, 39, 42, 45, 48, 51, 54, 57), ("1",) * 8),
    },
}


def published_schemes() -> list[Scheme]:
    """All 15 published schemes, named ``model:NNkb``."""
    return [
        Scheme(name, nb, idx, tuple(_ratio(r) for r in ratios), model=model)
        for model, table in _PUBLISHED.items()
        for name, (nb, idx, ratios) in table.items()
    ]


def full_update(n_conv: int) -> Scheme:
    return Scheme("full", n_conv - 1, tuple(range(n_conv - 1)), (1.0,) * (n_conv - 1))


def bias_only(n_conv: int) -> Scheme:
    return Scheme("bias-only", n_conv - 1, classifier="bias")


def last_k(n_conv: int, k: int) -> Scheme:
    """Weights and biases of the last k convolutions, the classifier being the last one."""
    if not 1 <= k <= n_conv:
        raise SchemeError(f"last-k: k={k} outside the allowed range [1, {n_conv}]")
    return Scheme(f"last-{k}", k - 1, tuple(range(n_conv - k, n_conv - 1)), (1.0,) * (k - 1))


CLASSIFIER_UPDATES = ("full", "bias", "none")


_FIELDS = ("name", "model", "n_bias_update", "manual_weight_idx", "weight_update_ratio", "n_weight_update",
           "classifier")


def _integer(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemeError(f"{where} must be an integer, got {quote(value)}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise SchemeError(f"{where} must be a non-empty string, got {quote(value)}")
    return value


def _list(value: Any, where: str, item: Any) -> tuple:
    if not isinstance(value, list):
        raise SchemeError(f"{where} must be a list, got {quote(value)}")
    return tuple(item(v, f"{where}[{i}]") for i, v in enumerate(value))


def _ratio_item(value: Any, where: str) -> float:
    try:
        return _ratio(value)
    except SchemeError as err:
        raise SchemeError(f"{where}: {err}") from None


def scheme_from_mapping(d: dict[str, Any], origin: str) -> Scheme:
    """A scheme from a TOML-like mapping; ``origin`` (a file path) labels every error,
    including those :func:`resolve` raises later."""
    try:
        unknown = set(d) - set(_FIELDS)
        if unknown:
            raise SchemeError(f"unknown field(s) {quote(sorted(unknown))}; allowed: {sorted(_FIELDS)}")
        if "n_bias_update" not in d:
            raise SchemeError("missing field 'n_bias_update'")
        n_weight = d.get("n_weight_update")
        return Scheme(
            name=_text(d["name"], "name") if "name" in d else Path(origin).stem,
            n_bias_update=_integer(d["n_bias_update"], "n_bias_update"),
            manual_weight_idx=_list(d.get("manual_weight_idx", []), "manual_weight_idx", _integer),
            weight_update_ratio=_list(d.get("weight_update_ratio", []), "weight_update_ratio", _ratio_item),
            n_weight_update=None if n_weight is None else _integer(n_weight, "n_weight_update"),
            model=_text(d["model"], "model") if "model" in d else None,
            classifier=_text(d.get("classifier", "full"), "classifier"),
            origin=origin,
        )
    except SchemeError as err:
        raise SchemeError(f"{origin}: {err}") from None


def load_scheme_file(path: str | Path) -> Scheme:
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_SCHEME_FILE_BYTES + 1)
    except OSError as err:
        raise SchemeError(f"{path}: cannot read scheme file: {err.strerror or err}") from None
    if len(raw) > MAX_SCHEME_FILE_BYTES:
        raise SchemeError(f"{path}: larger than {MAX_SCHEME_FILE_BYTES:,} bytes; a scheme is a few lines of TOML")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise SchemeError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason})") from None
    except tomllib.TOMLDecodeError as err:
        raise SchemeError(f"{path}: not valid TOML: {err}") from None
    except RecursionError:
        raise SchemeError(f"{path}: not valid TOML: nested too deeply") from None
    return scheme_from_mapping(data, str(path))


def _is_file(spec: str) -> bool:
    try:
        return Path(spec).is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def get_scheme(spec: str, model: Model) -> Scheme:
    """Look a scheme up by name for ``model``.

    ``spec`` is one of: a published name (``mcunet-5fps:99kb``, or ``99kb`` for the given
    model), ``full``, ``bias-only``, ``last-K``, or a path to a TOML scheme file.
    """
    n_conv = len(model.convs)
    if spec == "full":
        return full_update(n_conv)
    if spec == "bias-only":
        return bias_only(n_conv)
    if spec.startswith("last-"):
        if not spec[5:].isdigit():
            raise SchemeError(f"scheme {quote(spec)}: last-K needs an integer K in [1, {n_conv}]")
        return last_k(n_conv, int(spec[5:]))
    if spec.endswith(".toml") or _is_file(spec):
        return load_scheme_file(spec)
    model_name, _, short = spec.rpartition(":")
    model_name = model_name or model.name
    for s in published_schemes():
        if s.model == model_name and s.name == short:
            return s
    names = ", ".join(s.label for s in published_schemes())
    raise SchemeError(
        f"unknown scheme {quote(spec)}: use full, bias-only, last-K, a .toml file, or one of {names}"
    )


def resolve(scheme: Scheme, model: Model) -> ResolvedScheme:
    """Bind ``scheme`` to ``model``, checking every field against the model's ranges."""
    convs: list[Conv] = model.convs
    n = len(convs) - 1  # convolutions before the classifier
    where = f"scheme {quote(scheme.label)} on model {quote(model.name)}"
    if scheme.origin:
        where = f"{scheme.origin}: {where}"
    if scheme.model is not None and scheme.model != model.name:
        raise SchemeError(f"{where}: model: the scheme was written for {quote(scheme.model)}")
    if scheme.classifier not in CLASSIFIER_UPDATES:
        raise SchemeError(f"{where}: classifier={quote(scheme.classifier)}; allowed: {', '.join(CLASSIFIER_UPDATES)}")
    if not 0 <= scheme.n_bias_update <= n:
        raise SchemeError(f"{where}: n_bias_update={scheme.n_bias_update} outside the allowed range [0, {n}]")
    window = n - scheme.n_bias_update  # first conv index inside the bias window
    if scheme.manual_weight_idx:
        idx = scheme.manual_weight_idx
        ratios = scheme.weight_update_ratio or (1.0,) * len(idx)
    elif scheme.n_weight_update is not None:
        m = scheme.n_weight_update
        if not 0 <= m <= scheme.n_bias_update:
            raise SchemeError(f"{where}: n_weight_update={m} outside the allowed range "
                              f"[0, n_bias_update={scheme.n_bias_update}]")
        idx = tuple(range(n - m, n))
        ratios = scheme.weight_update_ratio or (1.0,) * m
    else:
        idx, ratios = (), ()
    if len(ratios) != len(idx):
        raise SchemeError(
            f"{where}: weight_update_ratio has {len(ratios)} entries, manual_weight_idx {len(idx)}; they must match"
        )
    if len(set(idx)) != len(idx):
        raise SchemeError(f"{where}: manual_weight_idx lists a layer twice: {quote(list(idx))}")
    updates = {i: LayerUpdate(True, 0) for i in range(window, n)}
    for i, ratio in zip(idx, ratios):
        if not 0 <= i < n:
            raise SchemeError(f"{where}: manual_weight_idx: layer {i} outside the allowed range [0, {n - 1}] "
                              f"(the classifier, layer {n}, is set by 'classifier')")
        if i < window:
            raise SchemeError(
                f"{where}: manual_weight_idx: layer {i} lies outside the bias window "
                f"[{window}, {n - 1}] set by n_bias_update={scheme.n_bias_update}"
            )
        if not (math.isfinite(ratio) and 0.0 <= ratio <= 1.0):
            raise SchemeError(f"{where}: weight_update_ratio for layer {i} is {ratio}; allowed range [0, 1]")
        channels = convs[i].in_channels
        updates[i] = LayerUpdate(True, int(math.floor(ratio * channels + 0.5)))
    if scheme.classifier != "none":
        head = convs[n]
        updates[n] = LayerUpdate(True, head.in_channels if scheme.classifier == "full" else 0)
    return ResolvedScheme(scheme, dict(sorted(updates.items())))
