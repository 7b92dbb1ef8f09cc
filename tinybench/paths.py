"""Where tinybench finds its data files and keeps its cache.

Data: the C sources of ``firmware/`` and the Renode platforms of ``renode/`` live at the top
of the source checkout, and ``tinybench/_data/`` holds links to them; a wheel carries copies
of both in that same place (``pyproject.toml``), so an installed tinybench and a checkout
find them the same way, through :func:`data_dir`.

Cache: one folder, ``$TINYBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/tinybench``, else
``~/.cache/tinybench``. It holds the QEMU plugin, the host builds of the C kernels, the
compiled Numba kernels and the firmware's object files (:mod:`tinybench.codegen.objects`),
each under a hash of its sources, so it never goes stale and can be
removed at any time (``rm -rf ~/.cache/tinybench``); what is missing is rebuilt on use.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA = Path(__file__).resolve().parent / "_data"
CACHE_ENV = "TINYBENCH_CACHE_DIR"


def data_dir(name: str) -> Path:
    """``firmware`` or ``renode``: the folder of that name shipped with tinybench."""
    path = DATA / name
    if not path.is_dir():
        raise FileNotFoundError(f"tinybench's data folder {path} is missing: reinstall tinybench "
                                "(a wheel carries it) or check out the repository with its links")
    return path


def cache_dir(part: str | None = None) -> Path:
    """The cache folder (see the module docstring), or its subfolder ``part``; not created."""
    env = os.environ.get(CACHE_ENV)
    root = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tinybench"
    return root / part if part else root
