"""Hostile model files: every one fails with a ModelFormatError that names the file (and the
field), before tinybench allocates memory for it; none runs code, recurses or floods a terminal."""

from __future__ import annotations

import copy
import pickle
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinybench.models.container import ModelFormatError, read_container
from tinybench.models.limits import MAX_CONVS, MAX_PICKLE_BYTES, MAX_PICKLE_OPCODES
from tinybench.models.loader import load_model_file, model_from_dict
from tinybench.models.zoo import SHIPPED

DATA = Path(__file__).resolve().parents[2] / "tinybench" / "models" / "data"


def container(path: Path, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", payload)
    return path


@pytest.fixture(scope="module")
def raw() -> dict:
    return read_container(DATA / SHIPPED["mcunet-5fps"])


def peak_bytes(fn) -> int:
    """Peak memory traced (Python and numpy allocations) while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_zip_bomb_is_refused_before_inflating(tmp_path):
    """A small zip whose data.pkl inflates past the limit: refused from its declared size."""
    size = MAX_PICKLE_BYTES + (1 << 20)
    path = tmp_path / "bomb.pkl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("archive/data.pkl", "w", force_zip64=True) as f:
        f.write(b"\x80\x04B" + struct.pack("<I", size))  # protocol 4, BINBYTES of `size` bytes
        chunk = bytes(1 << 20)
        for _ in range(size >> 20):
            f.write(chunk)
        f.write(b".")
    assert path.stat().st_size < 1 << 20

    def load():
        with pytest.raises(ModelFormatError, match=r"bomb\.pkl: archive/data\.pkl inflates to"):
            read_container(path)
    assert peak_bytes(load) < 8 << 20


def test_stream_of_many_small_objects_is_refused(tmp_path):
    """Each pickle opcode can create an object: a stream of mostly EMPTY_LIST is refused."""
    path = container(tmp_path / "lists.pkl", pickle.dumps({"x": [[] for _ in range(MAX_PICKLE_OPCODES)]}))
    with pytest.raises(ModelFormatError, match=r"lists\.pkl: pickle stream has more than 250,000 opcodes"):
        read_container(path)


class Calls:
    """Pickles as a call of ``fn(*args)``: how a file would reach an allowed global."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


@pytest.mark.parametrize("payload, message", [
    (Calls(np.ndarray, (1 << 40,), "i1"), "refusing"),  # would allocate a terabyte
    (Calls(__import__("_codecs").encode, "ab" * 8, "hex"), r"refusing _codecs.encode"),  # doubles per call
    (Calls(np.dtype, "O"), r"refusing dtype"),
    (np.array([object(), 1], dtype=object), "refusing"),
])
def test_allowed_globals_take_only_numpys_own_arguments(tmp_path, payload, message):
    path = container(tmp_path / "calls.pkl", pickle.dumps({"first_conv": payload}, protocol=2))
    with pytest.raises(ModelFormatError, match=rf"calls\.pkl: .*{message}"):
        read_container(path)


def test_deep_nesting_is_refused_without_recursion(tmp_path):
    depth = 100_000
    nested = b"]" * depth + b"a" * (depth - 1)  # EMPTY_LIST x depth, APPEND x (depth - 1)
    payload = b"\x80\x02}X\x0a\x00\x00\x00first_conv" + nested + b"s."
    path = container(tmp_path / "deep.pkl", payload)
    with pytest.raises(ModelFormatError, match=r"deep\.pkl: nested deeper than 32 levels"):
        read_container(path)


def test_errors_name_the_field_for_nested_values(raw):
    """A deep list in a field is quoted shortly, not repr'd into a RecursionError."""
    r = copy.deepcopy(raw)
    nested: list = []
    for _ in range(100_000):
        nested = [nested]
    r["blocks"][0]["depthwise"]["stride"] = nested
    with pytest.raises(ModelFormatError, match=r"m\.pkl: blocks\[0\]\.depthwise\.stride: expected an integer, found \[\[\["):
        model_from_dict(r, "m", "m.pkl")


def dw(r):
    return r["blocks"][0]["depthwise"]


@pytest.mark.parametrize("mutate, message", [
    (lambda r: dw(r)["params"].__setitem__("y_scale", 10**400), r"blocks\[0\]\.depthwise\.params\.y_scale: expected a scale"),
    (lambda r: dw(r)["params"].__setitem__("x_scale", float("nan")), r"blocks\[0\]\.depthwise\.params\.x_scale: expected a scale"),
    (lambda r: dw(r)["params"].__setitem__("w_scales", np.array(["0.5"] * 16)),
     r"blocks\[0\]\.depthwise\.params\.w_scales: dtype <U3, expected a floating-point dtype"),
    (lambda r: dw(r)["params"].__setitem__("w_scales", np.ones(16, np.complex64)),
     r"blocks\[0\]\.depthwise\.params\.w_scales: dtype complex64, expected a floating-point dtype"),
    (lambda r: dw(r)["params"].__setitem__("w_scales", np.ones(16, "datetime64[s]")),
     r"blocks\[0\]\.depthwise\.params\.w_scales: dtype datetime64\[s\], expected a floating-point dtype"),
    (lambda r: (dw(r)["params"].__setitem__("w_scales", np.ones(16, np.float32)), dw(r)["params"].__setitem__("y_scale", 2.0**-40)),
     r"blocks\[0\]\.depthwise\.params: x_scale \* w_scales / y_scale has no fixed-point form: .*too large for a Q31"),
    (lambda r: dw(r).__setitem__("kernel_size", (3, 5)), r"blocks\[0\]\.depthwise\.kernel_size: \(3, 5\): only square kernels"),
    (lambda r: dw(r).__setitem__("kernel_size", (np.array([3, 3]), 3)), r"blocks\[0\]\.depthwise\.kernel_size: expected \(k, k\)"),
    (lambda r: dw(r).__setitem__("kernel_size", ()), r"blocks\[0\]\.depthwise\.kernel_size: expected \(k, k\)"),
    (lambda r: r["classifier"].__setitem__("out_channel", 0), r"classifier\.out_channel: 0 outside the allowed range \[1,"),
    (lambda r: r["first_conv"].__setitem__("in_shape", 0), r"first_conv\.in_shape: 0 outside the allowed range \[1, 256\]"),
])
def test_bad_fields_are_named(raw, mutate, message):
    r = copy.deepcopy(raw)
    mutate(r)
    with pytest.raises(ModelFormatError, match=r"^m\.pkl: " + message):
        model_from_dict(r, "m", "m.pkl")


def test_a_huge_value_is_cut_in_the_message(raw):
    r = copy.deepcopy(raw)
    dw(r)["params"]["x_zero"] = "x" * 50_000_000
    with pytest.raises(ModelFormatError, match=r"x_zero: expected an integer, found 'xxx+\.\.\.x+'$") as err:
        model_from_dict(r, "m", "m.pkl")
    assert len(str(err.value)) < 200


def scaled(raw: dict, factor: int) -> dict:
    """The model with every spatial size multiplied by ``factor``: still consistent."""
    r = copy.deepcopy(raw)
    convs = [r["first_conv"]] + [b[k] for b in r["blocks"] for k in ("pointwise1", "depthwise", "pointwise2") if b[k]]
    for c in convs:
        c["in_shape"] *= factor
        c["out_shape"] *= factor
    return r


def test_a_consistent_model_larger_than_any_mcu_model_is_refused(raw):
    """At 4096x4096 the executor's arena and the upscaled digits would take tens of GB."""
    model_from_dict(scaled(raw, 2), "m", "m.pkl")  # 256x256: still accepted
    with pytest.raises(ModelFormatError, match=r"first_conv\.in_shape: 4096 outside the allowed range \[1, 256\]"):
        model_from_dict(scaled(raw, 32), "m", "m.pkl")


def test_a_block_repeated_by_reference_is_refused(raw, tmp_path):
    """One residual block referenced thousands of times: a small file, a huge model."""
    r = copy.deepcopy(raw)
    block = next(b for b in r["blocks"] if b["residual"] is not None)
    i = r["blocks"].index(block)
    block_input = block["residual"]["params"]
    block_input["y_scale"], block_input["y_zero"] = block_input["x_scale"], block_input["x_zero"]
    r["blocks"] = r["blocks"][: i + 1] + [block] * (MAX_CONVS // 2) + r["blocks"][i + 1:]
    path = container(tmp_path / "repeat.pkl", pickle.dumps(r, protocol=2))
    assert path.stat().st_size < 2 << 20
    with pytest.raises(ModelFormatError, match=rf"repeat\.pkl: blocks\[\d+\]\.\w+: more than {MAX_CONVS} convolutions"):
        load_model_file(path)
