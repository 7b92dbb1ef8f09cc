"""Fuzzing the untrusted inputs: mutated copies of the real model files (their fields, their
pickle bytes, their zip bytes), mutated schemes (mappings, TOML text, names) and model spec
strings, each taken as far as a compiled, planned training step with its parameters.

Every outcome must be success or the project's own TinybenchError: any other exception
fails the test (Hypothesis shrinks it to a minimal input), and so does an attempt to
allocate more than 1 GiB beyond what the process holds (the address-space limit set below
turns it into a MemoryError). The number of examples is bounded for CI; set
``TINYBENCH_FUZZ_EXAMPLES`` to fuzz longer (``TINYBENCH_FUZZ_EXAMPLES=5000 pytest tests/fuzz``).
"""

from __future__ import annotations

import copy
import functools
import os
import pickle
import resource
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinybench.errors import TinybenchError
from tinybench.graph.schemes import get_scheme, resolve, scheme_from_mapping
from tinybench.graph.training import compile_training
from tinybench.kernels.calls import layer_params
from tinybench.models.builder import build_model, with_new_head
from tinybench.models.container import read_container
from tinybench.models.loader import load_model_file
from tinybench.models.zoo import SHIPPED
from tinybench.plan.memory import memory_report, plan_memory

DATA = Path(__file__).resolve().parents[2] / "tinybench" / "models" / "data"
EXAMPLES = int(os.environ.get("TINYBENCH_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
MEMORY_HEADROOM = 1 << 30


@pytest.fixture(scope="module", autouse=True)
def bounded(tmp_path_factory):
    """Run in an empty folder (a fuzzed name never hits a real file) with the data segment
    limited to what the process holds plus 1 GiB."""
    old_cwd = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("fuzz-cwd"))
    with open("/proc/self/status") as status:
        held = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmData:"))
    old_limit = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (held + MEMORY_HEADROOM, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, old_limit)
        os.chdir(old_cwd)


def test_the_memory_guard_is_active():
    with pytest.raises(MemoryError):
        np.ones(MEMORY_HEADROOM + (256 << 20), np.uint8)


@functools.cache
def originals() -> dict[str, tuple[dict, bytes, bytes]]:
    """Per shipped model: the unpickled dict, its pickle stream and the file's bytes (not a
    fixture or a strategy argument: Hypothesis would print them with a failing example)."""
    out = {}
    for name, file in SHIPPED.items():
        raw = (DATA / file).read_bytes()
        with zipfile.ZipFile(DATA / file) as z:
            stream = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
        out[name] = (read_container(DATA / file), stream, raw)
    return out


def compile_all(model, scheme: str = "last-3") -> None:
    """What `estimate`, `train` and `run` do with a model before any kernel runs."""
    model = with_new_head(model, 10)
    graph = compile_training(model, resolve(get_scheme(scheme, model), model))
    memory_report(plan_memory(graph))
    layer_params(graph, 0.01, True)


def outcome(fn, *args) -> str:
    """Run ``fn``: 'ok', or 'error' for a TinybenchError; anything else propagates."""
    try:
        fn(*args)
    except TinybenchError as err:
        assert str(err) and len(str(err)) < 2000, "an error message must be one readable line"
        event(f"error: {type(err).__name__}")  # pytest --hypothesis-show-statistics
        return "error"
    event("ok")
    return "ok"


def write_container(path: Path, stream: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", stream)
        z.writestr("archive/version", "3\n")
    return path


def load_and_compile(path: Path, scheme: str = "last-3") -> None:
    compile_all(load_model_file(path), scheme)


# -- field mutations ------------------------------------------------------------------------
def locations(obj, path=()):
    """Every (container, key) in the nested dict, for mutation."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        yield path + (key,)
        yield from locations(value, path + (key,))


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from([0, 1, 2, 3, -1, 127, 128, 256, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True), st.complex_numbers(), st.text(max_size=8), st.binary(max_size=8),
)
arrays = hnp.arrays(
    dtype=st.sampled_from([np.int8, np.uint8, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_,
                           np.complex64, np.dtype("datetime64[s]"), np.dtype("<U3")]),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
)
hostile = st.one_of(scalars, arrays, st.lists(scalars, max_size=4), st.tuples(scalars, scalars),
                    st.dictionaries(st.text(max_size=4), scalars, max_size=3))


def nudged(value, draw):
    """A near-valid change of ``value``: a consistent-looking model with a wrong detail."""
    if isinstance(value, bool) or value is None:
        return not value
    if isinstance(value, int):
        return value + draw(st.sampled_from([-2, -1, 1, 2, value, -2 * value]))
    if isinstance(value, float):
        return value * 2.0 ** draw(st.integers(-90, 90))
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return tuple(v + draw(st.integers(-2, 2)) for v in value)
    if isinstance(value, np.ndarray) and value.ndim:
        kind = draw(st.sampled_from(["scale", "shape", "dtype"]))
        if kind == "scale" and value.dtype.kind == "f":
            return value * 2.0 ** draw(st.integers(-90, 90))
        if kind == "shape":
            return value[:-1]
        if value.dtype.kind in "biuf":  # an earlier mutation may have left a string or date array
            return value.astype(draw(st.sampled_from([np.int8, np.int32, np.float32, np.float64])))
    return draw(hostile)


def mutate_fields(raw: dict, draw) -> None:
    """Apply 1 to 3 drawn mutations to ``raw`` in place (each draw is small, so a failing
    example prints as the list of changes, not as the model)."""
    places = list(locations(raw))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(places))
        parent = raw
        try:
            for key in path[:-1]:
                parent = parent[key]
            old = parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced this part
        action = draw(st.sampled_from(["nudge", "nudge", "replace", "delete", "repeat"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "repeat" and isinstance(old, list) and old:
            old.insert(draw(st.integers(0, len(old))), old[draw(st.integers(0, len(old) - 1))])
        else:
            parent[path[-1]] = nudged(old, draw) if action == "nudge" else draw(hostile)


@FUZZ
@given(data=st.data())
def test_mutated_model_fields(tmp_path_factory, data):
    name = data.draw(st.sampled_from(sorted(SHIPPED)))
    raw = copy.deepcopy(originals()[name][0])
    mutate_fields(raw, data.draw)
    path = write_container(tmp_path_factory.mktemp("m") / f"{name}.pkl", pickle.dumps(raw, protocol=2))
    outcome(load_and_compile, path)


# -- byte mutations -------------------------------------------------------------------------
byte_edits = st.lists(st.tuples(st.sampled_from(["flip", "flip", "cut", "delete", "insert", "copy"]),
                                st.integers(0, 1 << 24), st.integers(0, 1 << 24), st.integers(1, 256),
                                st.binary(min_size=1, max_size=16)), min_size=1, max_size=4)


def edited(data: bytes, edits) -> bytes:
    """``data`` with each (operation, position, source, length, new bytes) applied in turn."""
    buf = bytearray(data)
    for op, at, start, length, new in edits:
        at, start = at % (len(buf) + 1), start % max(len(buf), 1)
        if op == "flip" and at < len(buf):
            buf[at] = new[0]
        elif op == "cut":
            del buf[at:]
        elif op == "delete":
            del buf[at:at + length]
        elif op == "insert":
            buf[at:at] = new
        elif op == "copy":
            buf[at:at] = buf[start:start + length]
    return bytes(buf)


@FUZZ
@given(data=st.data())
def test_mutated_pickle_streams(tmp_path_factory, data):
    name = data.draw(st.sampled_from(sorted(SHIPPED)))
    stream = edited(originals()[name][1], data.draw(byte_edits))
    outcome(load_and_compile, write_container(tmp_path_factory.mktemp("p") / f"{name}.pkl", stream))


@FUZZ
@given(data=st.data())
def test_mutated_zip_files(tmp_path_factory, data):
    name = data.draw(st.sampled_from(sorted(SHIPPED)))
    path = tmp_path_factory.mktemp("z") / f"{name}.pkl"
    path.write_bytes(edited(originals()[name][2], data.draw(byte_edits)))
    outcome(load_and_compile, path)


# -- schemes and model specs ----------------------------------------------------------------
@pytest.fixture(scope="module")
def mcunet():
    return load_model_file(DATA / SHIPPED["mcunet-5fps"])


toml_values = st.recursive(
    st.one_of(st.integers(-5, 60), st.integers(), st.booleans(), st.floats(), st.text(max_size=6),
              st.sampled_from(["1/8", "1/4", "1/2", "1", "0", "1/0", "1e400", "full", "bias", "none", "mcunet-5fps"])),
    lambda inner: st.lists(inner, max_size=6), max_leaves=12)
small_ints = st.integers(0, 45)
scheme_mappings = st.fixed_dictionaries(
    {"n_bias_update": st.one_of(small_ints, toml_values)},
    optional={"name": toml_values, "model": st.one_of(st.just("mcunet-5fps"), toml_values),
              "manual_weight_idx": st.one_of(st.lists(small_ints, max_size=6), toml_values),
              "weight_update_ratio": st.one_of(st.lists(st.sampled_from(["1/8", "1/2", 0.25, 1, 0]), max_size=6),
                                               toml_values),
              "n_weight_update": st.one_of(small_ints, toml_values),
              "classifier": st.one_of(st.sampled_from(["full", "bias", "none"]), toml_values),
              "bogus": toml_values})


def resolve_and_compile(scheme, model) -> None:
    memory_report(plan_memory(compile_training(model, resolve(scheme, model))))


@FUZZ
@given(mapping=scheme_mappings)
def test_fuzzed_scheme_mappings(mcunet, mapping):
    outcome(lambda: resolve_and_compile(scheme_from_mapping(mapping, "fuzz.toml"), mcunet))


VALID_TOML = b'name = "mine"\nn_bias_update = 8\nmanual_weight_idx = [36, 39]\nweight_update_ratio = ["1/8", 0.25]\n'


@FUZZ
@given(data=st.data())
def test_fuzzed_scheme_files_and_names(mcunet, tmp_path_factory, data):
    path = tmp_path_factory.mktemp("s") / "scheme.toml"
    path.write_bytes(edited(VALID_TOML, data.draw(byte_edits)))
    outcome(lambda: resolve_and_compile(get_scheme(str(path), mcunet), mcunet))
    spec = data.draw(st.one_of(st.text(max_size=40), st.sampled_from(["last-0", "last-43", "last-", "99kb", ":99kb",
                                                                     "mbv2-w0.35:49kb", "full", "bias-only"])))
    outcome(lambda: resolve_and_compile(get_scheme(spec, mcunet), mcunet))


layer_tokens = st.one_of(
    st.builds(lambda *a: ":".join(map(str, a)), st.sampled_from(["conv", "dw", "pw", "block", "classifier", "x"]),
              *[st.one_of(st.integers(-2, 9), st.integers(), st.text(max_size=2))] * 2),
    st.builds(lambda c, e, k, s: f"block:{e}:{c}:{k}:{s}", st.integers(1, 70000), st.integers(0, 7),
              st.integers(-1, 9), st.integers(0, 3)),
)


@FUZZ
@given(tokens=st.lists(layer_tokens, max_size=6), size=st.integers(-1, 300), classes=st.integers(1, 12))
def test_fuzzed_model_specs(tokens, size, classes):
    spec = " ".join(tokens + [f"classifier:{classes}"])
    outcome(lambda: compile_all(build_model(spec, (size, size, 3)), "full"))
