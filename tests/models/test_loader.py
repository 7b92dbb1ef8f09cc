"""The shipped models load into the IR, and bad model files fail with clear errors."""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from tinybench.models.container import ModelFormatError, read_container
from tinybench.models.ir import ConvKind
from tinybench.models.loader import load_model_file, model_from_dict
from tinybench.models.zoo import SHIPPED, load_model

# From ../shared/models/README.md, computed there independently of this project.
EXPECTED = {
    "mcunet-5fps": ("4de2e06ed39041fc3609de806461a9e1d1f82f186927474bd9e9b0de756a0f00", 43, 22.6e6, 0.630e6),
    "mbv2-w0.35": ("310d2871c50a89af9f11928e28418729984c2e402cf68560a19b6cbb75854163", 52, 16.8e6, 0.357e6),
    "proxyless-w0.3": ("0da06d029506a36e5a5d0822493cdae11f37ba78662f9aca25ba5b3c958cf8e1", 61, 18.7e6, 0.423e6),
}


def shipped_path(name: str) -> Path:
    return Path(str(resources.files("tinybench.models") / "data" / SHIPPED[name]))


@pytest.mark.parametrize("name", list(EXPECTED))
def test_shipped_model_matches_published_figures(name):
    sha, convs, macs, params = EXPECTED[name]
    assert hashlib.sha256(shipped_path(name).read_bytes()).hexdigest() == sha
    m = load_model(name)
    assert len(m.convs) == convs
    assert m.macs == pytest.approx(macs, rel=0.005)
    assert m.params == pytest.approx(params, rel=0.005)
    assert m.input_shape == (128, 128, 3)
    assert m.num_classes == 1000
    assert m.convs[-1].kind is ConvKind.CLASSIFIER
    assert [c.index for c in m.convs] == list(range(convs))


def test_licence_notice_is_shipped():
    text = (resources.files("tinybench.models") / "data" / "LICENSE").read_text()
    assert "MIT License" in text and "MIT HAN Lab" in text


def test_weights_are_ohwi_and_multipliers_approximate_the_real_scale():
    raw = read_container(shipped_path("mcunet-5fps"))
    m = load_model("mcunet-5fps")
    dw = m.convs[1]
    original = raw["blocks"][0]["depthwise"]["params"]["weight"]
    np.testing.assert_array_equal(dw.weight, original.transpose(0, 2, 3, 1))
    real = dw.x.scale * dw.w_scales / dw.y.scale
    approx = dw.multiplier.astype(np.float64) / 2.0 ** dw.shift.astype(np.float64)
    np.testing.assert_allclose(approx, real, rtol=2**-30)


def test_new_head_replaces_the_classifier_only():
    base = load_model("proxyless-w0.3")
    m = load_model("proxyless-w0.3", num_classes=10)
    assert m.num_classes == 10 and m.classifier.weight.shape == (10, 1, 1, 96)
    assert not np.any(m.classifier.bias)
    np.testing.assert_array_equal(m.convs[5].weight, base.convs[5].weight)
    m.convs[5].weight[:] = 0  # a copy: training one model must not touch the cache
    assert np.any(load_model("proxyless-w0.3").convs[5].weight)


# -- untrusted files ----------------------------------------------------------------------
def write_container(path: Path, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/version", "3\n")
    return path


class RunsCode:
    """Unpickling this would call os.system: the classic pickle exploit."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os
        return (os.system, (f"touch {self.marker}",))


def test_crafted_pickle_does_not_run_code(tmp_path):
    marker = tmp_path / "pwned"
    bad = write_container(tmp_path / "evil.pkl", pickle.dumps({"first_conv": RunsCode(marker)}))
    with pytest.raises(ModelFormatError) as err:
        load_model_file(bad)
    assert "evil.pkl" in str(err.value) and "refusing to load global" in str(err.value)
    assert "system" in str(err.value)
    assert not marker.exists()


def test_truncated_archive_names_file(tmp_path):
    data = shipped_path("mbv2-w0.35").read_bytes()
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError, match=r"cut\.pkl: .*(truncated|corrupt)"):
        load_model_file(cut)


def test_corrupt_pickle_stream(tmp_path):
    bad = write_container(tmp_path / "garbage.pkl", b"\x80\x02}q\x00(X\x03")
    with pytest.raises(ModelFormatError, match=r"garbage\.pkl: corrupt pickle stream"):
        load_model_file(bad)


def test_missing_file():
    with pytest.raises(ModelFormatError, match="no-such.pkl: cannot read file"):
        load_model_file("no-such.pkl")


def _raw() -> dict:
    return read_container(shipped_path("mcunet-5fps"))


def test_missing_key_names_the_field(tmp_path):
    raw = _raw()
    del raw["blocks"][3]["depthwise"]["params"]["bias"]
    f = write_container(tmp_path / "nobias.pkl", pickle.dumps(raw, protocol=2))
    with pytest.raises(ModelFormatError, match=r"nobias\.pkl: blocks\[3\]\.depthwise\.params\.bias: missing key"):
        load_model_file(f)


def test_wrong_shape_names_the_field(tmp_path):
    raw = _raw()
    raw["blocks"][2]["pointwise1"]["params"]["weight"] = np.zeros((48, 15, 1, 1), np.int8)
    f = write_container(tmp_path / "shape.pkl", pickle.dumps(raw, protocol=2))
    with pytest.raises(ModelFormatError, match=r"blocks\[2\]\.pointwise1\.params\.weight: shape \(48, 15, 1, 1\), expected \(48, 16, 1, 1\)"):
        load_model_file(f)


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["blocks"][0]["depthwise"]["params"].__setitem__("weight", np.zeros((16, 1, 3, 3), np.float32)),
     r"blocks\[0\]\.depthwise\.params\.weight: dtype float32, expected int8"),
    (lambda r: r["blocks"][1]["depthwise"].__setitem__("stride", 3), r"blocks\[1\]\.depthwise: kernel 3 stride 3"),
    (lambda r: r["blocks"][1]["pointwise2"]["params"].__setitem__("y_zero", 300),
     r"blocks\[1\]\.pointwise2\.params\.y_zero: zero point 300 outside"),
    (lambda r: r["classifier"]["params"].__setitem__("w_scales", -np.ones(1000)),
     r"classifier\.params\.w_scales: every weight scale must be positive"),
    (lambda r: r.__setitem__("blocks", "nope"), r"blocks: expected a non-empty list"),
])
def test_invalid_fields(mutate, message):
    raw = _raw()
    mutate(raw)
    with pytest.raises(ModelFormatError, match=message):
        model_from_dict(raw, "m", "m.pkl")


def test_torch_storages_are_rejected(tmp_path):
    class Persistent(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", "0") if isinstance(obj, bytes) else None

    buf = io.BytesIO()
    Persistent(buf, protocol=2).dump({"x": b"tensor"})
    f = write_container(tmp_path / "torch.pkl", buf.getvalue())
    with pytest.raises(ModelFormatError, match="torch tensor storages"):
        load_model_file(f)
