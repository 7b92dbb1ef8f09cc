"""A local Dask cluster whose scratch space goes when it closes.

``distributed`` keeps its workers' scratch folders, and the lock files that guard them, under
``$TMPDIR/dask-scratch-space``, which outlives the command. Here every cluster gets a temporary
folder of its own, removed with the cluster, so a matrix or a search leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from typing import Any, Iterator


@contextlib.contextmanager
def local_cluster(workers: int | None, **options: Any) -> Iterator[Any]:
    """``distributed.LocalCluster`` of ``workers`` single-threaded processes (None: one per core)."""
    import dask
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory(prefix="tinybench-dask-") as scratch, \
            dask.config.set({"temporary-directory": scratch}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, local_directory=scratch,
                         silence_logs=logging.ERROR, **options) as cluster:
        yield cluster
