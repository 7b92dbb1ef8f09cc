"""Read the paper's model container (a torch.save zip of one pickled dict) without torch.

A model file is untrusted input: pickle can call any importable function. The unpickler
here resolves only the handful of globals these files need to rebuild numpy arrays and
refuses every other one, so a crafted file fails with a clear error instead of running code.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np


class ModelFormatError(ValueError):
    """A model file that cannot be read; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def _reconstruct_function() -> Any:
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _allowed_globals() -> dict[tuple[str, str], Any]:
    import _codecs

    reconstruct = _reconstruct_function()
    return {
        ("numpy.core.multiarray", "_reconstruct"): reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _codecs.encode,
        ("collections", "OrderedDict"): OrderedDict,
    }


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals in :func:`_allowed_globals`; rejects the rest by name."""

    def __init__(self, data: bytes, path: str):
        super().__init__(io.BytesIO(data))
        self._path = path
        self._allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise ModelFormatError(
                self._path,
                f"refusing to load global '{module}.{name}': model files may only contain "
                "numpy arrays, dtypes, numbers, strings, lists and dicts",
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise ModelFormatError(
            self._path,
            "holds torch tensor storages (persistent ids); expected numpy arrays only",
        )


def read_container(path: str | Path) -> dict[str, Any]:
    """Return the dict stored in a torch.save zip archive at ``path``, safely."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ModelFormatError(path, f"cannot read file: {err.strerror or err}") from None
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise ModelFormatError(
                path, f"expected exactly one data.pkl in the archive, found {len(pickles)}"
            )
        data = archive.read(pickles[0])
    except zipfile.BadZipFile as err:
        raise ModelFormatError(path, f"not a valid zip archive (truncated or corrupt): {err}") from None
    except (EOFError, OSError) as err:
        raise ModelFormatError(path, f"archive is truncated or corrupt: {err}") from None
    try:
        obj = _RestrictedUnpickler(data, str(path)).load()
    except ModelFormatError:
        raise
    except Exception as err:  # any unpickling failure of untrusted bytes is a format error
        raise ModelFormatError(path, f"corrupt pickle stream: {type(err).__name__}: {err}") from None
    if not isinstance(obj, dict):
        raise ModelFormatError(path, f"top-level object is {type(obj).__name__}, expected dict")
    return obj
