"""Read the paper's model container (a torch.save zip of one pickled dict) without torch.

A model file is untrusted input: pickle can call any importable function. The unpickler
here resolves only the handful of globals these files need to rebuild numpy arrays, each
behind a wrapper that accepts exactly the arguments numpy's own pickles pass, and refuses
every other one, so a crafted file fails with a clear error instead of running code. Sizes
are checked before memory is committed (:mod:`tinybench.models.limits`): the file, the
declared size of the inflated stream, the number of pickle opcodes (each can create an
object) and, after loading, the nesting and the dtype of every array.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from tinybench.errors import TinybenchError, quote
from tinybench.models.limits import MAX_FILE_BYTES, MAX_NESTING, MAX_PICKLE_BYTES, MAX_PICKLE_OPCODES


class ModelFormatError(TinybenchError):
    """A model file that cannot be read; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class _Refused(Exception):
    """A global called with arguments numpy's pickles never pass."""


#: dtype kinds an array in a model file may have: bool, integers, floats, complex,
#: timedelta, datetime, bytes, str (the loader then checks each field's own dtype).
#: Object and structured (void) dtypes are refused: they can hold anything.
_ARRAY_KINDS = frozenset("biufcmMSU")


class _NdarrayType:
    """Stands for ``numpy.ndarray`` in the stream: usable as the subtype argument of
    ``_reconstruct``, but not callable, so a file cannot allocate ``ndarray(10**12)``."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise _Refused(f"numpy.ndarray{quote(args)}")


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> np.ndarray:
    """numpy's ``_reconstruct(ndarray, (0,), b'b')``: an empty array that BUILD fills."""
    if subtype is not _NdarrayType or shape != (0,) or typecode not in (b"b", "b"):
        raise _Refused(f"_reconstruct{quote((subtype, shape, typecode))}")
    return np.ndarray.__new__(np.ndarray, (0,), "b")


def _dtype(name: Any, align: Any = False, copy: Any = False) -> np.dtype:
    """``numpy.dtype('<f4', False, True)`` as numpy pickles it, for a plain type code."""
    if not isinstance(name, str) or len(name) > 8:
        raise _Refused(f"dtype{quote((name,))}")
    try:
        dtype = np.dtype(name, bool(align), bool(copy))
    except (TypeError, ValueError):
        raise _Refused(f"dtype{quote((name,))}") from None
    if dtype.kind not in _ARRAY_KINDS:
        raise _Refused(f"dtype {name!r} (object and structured arrays are not allowed)")
    return dtype


def _encode(text: Any, encoding: Any = "utf-8") -> bytes:
    """``_codecs.encode(str, 'latin1')``, numpy's way of storing raw bytes in protocol 2."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused(f"_codecs.encode{quote((text, encoding))}")
    return text.encode("latin1")


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _NdarrayType,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _encode,
    ("collections", "OrderedDict"): OrderedDict,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals in :data:`_ALLOWED_GLOBALS`; rejects the rest by name."""

    def __init__(self, data: bytes, path: str):
        super().__init__(io.BytesIO(data))
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise ModelFormatError(
                self._path,
                f"refusing to load global {quote(f'{module}.{name}')}: model files may only contain "
                "numpy arrays, dtypes, numbers, strings, lists and dicts",
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise ModelFormatError(
            self._path,
            "holds torch tensor storages (persistent ids); expected numpy arrays only",
        )


def _check_opcodes(data: bytes, path: Path) -> None:
    """Count the stream's opcodes without building anything (each may create an object)."""
    try:
        for n, _ in enumerate(pickletools.genops(data)):
            if n >= MAX_PICKLE_OPCODES:
                raise ModelFormatError(path, f"pickle stream has more than {MAX_PICKLE_OPCODES:,} "
                                             "opcodes; a model file needs a few thousand")
    except ModelFormatError:
        raise
    except Exception as err:  # any parsing failure of untrusted bytes is a format error
        raise ModelFormatError(path, f"corrupt pickle stream: {type(err).__name__}: {quote(str(err))}") from None


_LEAVES = (str, bytes, bytearray, int, float, complex, bool, type(None))


def _check_contents(obj: Any, path: Path) -> None:
    """Walk the loaded object (iteratively: shared references are visited once) and check
    its nesting and that every array has a plain dtype."""
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, _LEAVES):
            continue
        if isinstance(node, np.ndarray):
            if node.dtype.kind not in _ARRAY_KINDS or node.dtype.hasobject:
                raise ModelFormatError(path, f"holds an array of dtype {node.dtype}; expected plain numbers")
            continue
        if depth >= MAX_NESTING:
            raise ModelFormatError(path, f"nested deeper than {MAX_NESTING} levels")
        if isinstance(node, dict):
            children = [*node.keys(), *node.values()]
        elif isinstance(node, (list, tuple)):
            children = list(node)
        else:
            raise ModelFormatError(path, f"holds a {type(node).__name__}; expected dicts, lists, numbers, "
                                         "strings and numpy arrays")
        stack.extend((child, depth + 1) for child in children)


def _read_pickle(path: Path) -> bytes:
    """The bytes of the archive's one ``data.pkl``, refusing oversized files and streams."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ModelFormatError(path, f"file of {size:,} bytes is larger than the {MAX_FILE_BYTES:,} "
                                         "bytes a model file may have")
        raw = path.read_bytes()
    except OSError as err:
        raise ModelFormatError(path, f"cannot read file: {err.strerror or err}") from None
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        pickles = [i for i in archive.infolist() if i.filename.endswith("/data.pkl") or i.filename == "data.pkl"]
        if len(pickles) != 1:
            raise ModelFormatError(
                path, f"expected exactly one data.pkl in the archive, found {len(pickles)}"
            )
        info = pickles[0]
        if info.file_size > MAX_PICKLE_BYTES:
            raise ModelFormatError(path, f"{info.filename} inflates to {info.file_size:,} bytes, more than "
                                         f"the {MAX_PICKLE_BYTES:,} bytes a model may have")
        with archive.open(info) as stream:
            data = stream.read(MAX_PICKLE_BYTES + 1)
        if len(data) > MAX_PICKLE_BYTES:  # the header understated the size
            raise ModelFormatError(path, f"{info.filename} inflates to more than {MAX_PICKLE_BYTES:,} bytes")
    except zipfile.BadZipFile as err:
        raise ModelFormatError(path, f"not a valid zip archive (truncated or corrupt): {err}") from None
    except (EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as err:
        # zlib errors, unsupported compression, encryption: all say the archive is unusable
        raise ModelFormatError(path, f"archive is truncated or corrupt: {type(err).__name__}: {err}") from None
    return data


def read_container(path: str | Path) -> dict[str, Any]:
    """Return the dict stored in a torch.save zip archive at ``path``, safely."""
    path = Path(path)
    data = _read_pickle(path)
    _check_opcodes(data, path)
    try:
        obj = _RestrictedUnpickler(data, str(path)).load()
    except ModelFormatError:
        raise
    except _Refused as err:
        raise ModelFormatError(path, f"refusing {err}: not how numpy stores arrays") from None
    except Exception as err:  # any unpickling failure of untrusted bytes is a format error
        raise ModelFormatError(path, f"corrupt pickle stream: {type(err).__name__}: {quote(str(err))}") from None
    if not isinstance(obj, dict):
        raise ModelFormatError(path, f"top-level object is {type(obj).__name__}, expected dict")
    _check_contents(obj, path)
    return obj
