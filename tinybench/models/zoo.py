"""The shipped models of the paper, by name, and loading by name or path.

A source may also be a built model, ``build:HxWxC SPEC`` (``tinybench.models.builder``'s spec,
e.g. ``build:16x16x3 conv:8:3:2 block:2:8:3:1 classifier:4``): small architectures for tests
and experiments go everywhere a model name does, through every stage (the estimator and the
scheme search load models by their source string)."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from tinybench.errors import TinybenchError, quote
from tinybench.models.builder import ModelSpecError, build_model, with_new_head
from tinybench.models.ir import Model
from tinybench.models.loader import load_model_file

#: Shipped model name -> file in tinybench/models/data (MIT, see data/LICENSE).
SHIPPED = {
    "mcunet-5fps": "mcunet-5fps.pkl",
    "mbv2-w0.35": "mbv2-w0.35.pkl",
    "proxyless-w0.3": "proxyless-w0.3.pkl",
}

#: Classes of the new head used for training, as in the paper's compiled graphs.
DEFAULT_TRAIN_CLASSES = 10


class UnknownModelError(TinybenchError):
    """A model name that is neither shipped nor the path of a file."""


BUILD_PREFIX = "build:"


def _built(source: str) -> Model:
    shape, _, spec = source[len(BUILD_PREFIX):].strip().partition(" ")
    try:
        dims = tuple(int(d) for d in shape.split("x"))
    except ValueError:
        dims = ()
    if len(dims) != 3 or min(dims) < 1:
        raise ModelSpecError(f"model {quote(source)}: expected build:HxWxC followed by a layer spec, "
                             f"such as build:16x16x3 conv:8:3:2 classifier:4")
    return build_model(spec, dims)


def model_names() -> list[str]:
    return list(SHIPPED)


@functools.lru_cache(maxsize=8)
def _load_cached(source: str) -> Model:
    if source.startswith(BUILD_PREFIX):
        return _built(source)
    if source in SHIPPED:
        with resources.as_file(resources.files("tinybench.models") / "data" / SHIPPED[source]) as p:
            return load_model_file(p, source)
    path = Path(source)
    try:
        exists = path.exists()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        exists = False
    if not exists:
        raise UnknownModelError(
            f"unknown model {quote(source)}: not a shipped model ({', '.join(SHIPPED)}) and no such file"
        )
    return load_model_file(path)


def load_model(source: str, num_classes: int | None = None, seed: int = 0) -> Model:
    """Load a shipped model by name or a model file by path.

    With ``num_classes`` the 1000-class classifier is replaced by a new seeded head of that
    many classes (transfer learning). The returned model is a fresh copy the caller may train.
    """
    base = _load_cached(source)
    if num_classes is None:
        return base.copy()
    return with_new_head(base, num_classes, seed)
