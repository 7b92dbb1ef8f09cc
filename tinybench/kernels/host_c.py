"""Build the C kernels of ``firmware/kernels`` for the host and call them from Python.

:func:`load` compiles every ``src/**/*.c`` with the host ``gcc`` into one shared library
(``-std=c99 -O2 -Wall -Wextra -Werror``), cached in tinybench's cache folder (:mod:`tinybench.paths`) by a hash of the sources, headers, flags and compiler version,
and returns a :class:`CKernels` whose attributes are the kernels, by their C names.

The wrappers are generated from the prototypes in ``tb_kernels.h``, so they take the
same arguments, in the same order, as the Numba kernels of :mod:`tinybench.kernels`:
a pointer parameter takes a 1-D (or any C-contiguous) numpy array of exactly the C
element type, and ``None`` or an empty array becomes NULL; an int32 parameter takes a
Python or numpy integer. A kernel that returns ``int32_t`` returns a Python int.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybench.paths import cache_dir, data_dir

#: Root of the C kernels (``include/``, ``src/`` and ``fast/``), shipped with tinybench.
FIRMWARE_DIR = data_dir("firmware") / "kernels"
HEADER = FIRMWARE_DIR / "include" / "tb_kernels.h"
CFLAGS = ("-std=c99", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror")

_CTYPES = {"int8_t": ctypes.c_int8, "uint8_t": ctypes.c_uint8, "int32_t": ctypes.c_int32}
_DTYPES = {"int8_t": np.int8, "uint8_t": np.uint8, "int32_t": np.int32}
_PROTO = re.compile(r"^(void|int32_t)\s+(tb_\w+)\s*\(([^)]*)\)\s*;", re.MULTILINE)
_PARAM = re.compile(r"^(const\s+)?(int8_t|uint8_t|int32_t)\s*(\*?)\s*(\w+)$")


@dataclass(frozen=True)
class Param:
    name: str
    ctype: str  # int8_t, uint8_t or int32_t
    pointer: bool
    const: bool


@dataclass(frozen=True)
class Prototype:
    name: str
    returns: str  # "void" or "int32_t"
    params: tuple[Param, ...]


def parse_header(path: Path = HEADER) -> dict[str, Prototype]:
    """Every kernel prototype of the public header, by name, in header order."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.DOTALL)
    protos: dict[str, Prototype] = {}
    for ret, name, args in _PROTO.findall(text):
        params = []
        for raw in args.split(","):
            m = _PARAM.match(" ".join(raw.split()))
            if m is None:
                raise ValueError(f"{name}: cannot parse parameter {raw.strip()!r}")
            params.append(Param(m.group(4), m.group(2), m.group(3) == "*", m.group(1) is not None))
        protos[name] = Prototype(name, ret, tuple(params))
    return protos


#: The C kernel sets: ``reference`` (``src/``, the readable definition) and ``fast`` (``fast/``,
#: the same kernels for cores with the DSP extension; on other machines, the host included, its
#: DSP instructions are plain C statements of their definition, see Internal/tb_nn_dsp.h).
KERNEL_SETS = ("reference", "fast")


def sources(kernel_set: str = "reference", root: Path = FIRMWARE_DIR) -> list[Path]:
    """One C file per kernel of ``kernel_set`` under ``root``: ``fast/<Category>/<name>.c``
    where it exists, else the reference ``src/<Category>/<name>.c``."""
    if kernel_set not in KERNEL_SETS:
        raise ValueError(f"unknown kernel set {kernel_set!r}; known: {', '.join(KERNEL_SETS)}")
    out = []
    for ref in sorted((root / "src").rglob("*.c")):
        fast = root / "fast" / ref.relative_to(root / "src")
        out.append(fast if kernel_set == "fast" and fast.is_file() else ref)
    return out


#: Extra flags of the checking build (``TINYBENCH_KERNELS_SANITIZE=1``): any undefined
#: behaviour (signed overflow, out-of-range shift, ...) aborts the process.
SANITIZE_FLAGS = ("-fsanitize=undefined", "-fno-sanitize-recover=all", "-g")


def build(cc: str = "gcc", extra_flags: tuple[str, ...] = (), kernel_set: str = "reference") -> Path:
    """Compile the kernels of ``kernel_set`` into a shared library (once per source hash);
    return its path."""
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True).stdout
    flags = (*CFLAGS, *extra_flags)
    digest = hashlib.sha256()
    digest.update(" ".join(flags).encode() + version.encode())
    files = sources(kernel_set) + sorted((FIRMWARE_DIR / "include").rglob("*.h"))
    for f in files:
        digest.update(str(f.relative_to(FIRMWARE_DIR)).encode() + b"\0" + f.read_bytes())
    out_dir = cache_dir("kernels")
    lib = out_dir / f"libtb_kernels-{digest.hexdigest()[:16]}.so"
    if lib.exists():
        return lib
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=out_dir)
    os.close(fd)
    cmd = [cc, *flags, "-I", str(FIRMWARE_DIR / "include"), *map(str, sources(kernel_set)), "-o", tmp]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"building the C kernels failed:\n{' '.join(cmd)}\n{res.stderr}")
        os.replace(tmp, lib)  # atomic: concurrent builders agree on the result
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return lib


def _pointer(arg, p: Param, kernel: str):
    if arg is None:
        return None
    if not isinstance(arg, np.ndarray):
        raise TypeError(f"{kernel}: {p.name} must be a numpy array or None")
    if arg.size == 0:
        return None
    if arg.dtype != _DTYPES[p.ctype]:
        raise TypeError(f"{kernel}: {p.name} must be {np.dtype(_DTYPES[p.ctype])}, got {arg.dtype}")
    if not arg.flags.c_contiguous:
        raise ValueError(f"{kernel}: {p.name} must be C-contiguous")
    if not p.const and not arg.flags.writeable:
        raise ValueError(f"{kernel}: {p.name} is written and must be writeable")
    return arg.ctypes.data_as(ctypes.POINTER(_CTYPES[p.ctype]))


def _integer(arg, p: Param, kernel: str) -> int:
    v = int(arg)
    if v != arg or not -(2**31) <= v < 2**31:
        raise ValueError(f"{kernel}: {p.name} = {arg!r} is not an int32")
    return v


class CKernels:
    """The C kernels of one shared library, as Python callables named like the C ones."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lib = ctypes.CDLL(str(self.path))
        self.prototypes = parse_header()
        for proto in self.prototypes.values():
            setattr(self, proto.name, self._wrap(proto))

    def _wrap(self, proto: Prototype):
        fn = getattr(self._lib, proto.name)
        fn.argtypes = [
            ctypes.POINTER(_CTYPES[p.ctype]) if p.pointer else _CTYPES[p.ctype] for p in proto.params
        ]
        fn.restype = ctypes.c_int32 if proto.returns == "int32_t" else None

        def call(*args):
            if len(args) != len(proto.params):
                raise TypeError(f"{proto.name} takes {len(proto.params)} arguments, got {len(args)}")
            cargs = [
                _pointer(a, p, proto.name) if p.pointer else _integer(a, p, proto.name)
                for a, p in zip(args, proto.params)
            ]
            # keep the arrays alive during the call
            return fn(*cargs)

        call.__name__ = proto.name
        call.__doc__ = f"C kernel {proto.name}({', '.join(p.name for p in proto.params)})"
        return call


_LOADED: dict[str, CKernels] = {}


def load(cc: str = "gcc", kernel_set: str = "reference") -> CKernels:
    """Build (if needed) and load the host C kernels of ``kernel_set``; cached for the process.

    With ``TINYBENCH_KERNELS_SANITIZE=1`` in the environment the library is built with
    UBSan (:data:`SANITIZE_FLAGS`), which the tests use to prove the absence of overflow.
    """
    if kernel_set not in _LOADED:
        extra = SANITIZE_FLAGS if os.environ.get("TINYBENCH_KERNELS_SANITIZE") == "1" else ()
        _LOADED[kernel_set] = CKernels(build(cc, extra, kernel_set))
    return _LOADED[kernel_set]
