"""Where Numba keeps the compiled kernels: tinybench's cache folder, under a hash of every
kernel source file.

Numba's own cache checks only the file that defines a function. The shared helpers of
:mod:`tinybench.kernels.support` are inlined into kernels of other files, so after an edit of
a helper Numba would load the old machine code of every kernel using it. Keyed by the hash of
all kernel sources, an edit anywhere compiles afresh (once), and nothing has to be deleted by
hand. It also keeps the compiled code out of the package folder, which an installed wheel
may not be allowed to write.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import Iterator

from numba.core import config

from tinybench.paths import cache_dir

KERNEL_DIR = Path(__file__).resolve().parent


def sources_digest() -> str:
    """Hash of every module of this package that compiles with Numba."""
    digest = hashlib.sha256()
    for path in sorted(KERNEL_DIR.glob("*.py")):
        text = path.read_bytes()
        if b"njit" in text:
            digest.update(path.name.encode() + b"\0" + text + b"\0")
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def kernel_cache() -> Iterator[Path]:
    """Around the import of the kernel modules: ``njit(cache=True)`` picks its cache folder
    when a function is decorated, from ``numba.config.CACHE_DIR``; restored afterwards, so
    other Numba code in the process keeps its own."""
    folder = cache_dir("numba") / sources_digest()
    previous = config.CACHE_DIR
    config.CACHE_DIR = str(folder)
    try:
        yield folder
    finally:
        config.CACHE_DIR = previous
