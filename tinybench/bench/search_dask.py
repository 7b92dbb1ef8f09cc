"""Run independent tasks on Dask with a progress bar: the fine-tuning runs of ``tinybench search``.

A local cluster (``distributed.LocalCluster``, one single-threaded worker process per core
asked for: the kernels are CPU bound and Numba releases no GIL here) is started for the
duration of the block and closed however it ends; or the tasks go to an existing scheduler
(``--scheduler tcp://host:8786``), whose workers must have tinybench installed.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable, Iterable, Iterator

from tinybench.bench.cluster import local_cluster
from tinybench.errors import TinybenchError


class SchedulerError(TinybenchError):
    """A Dask scheduler address that cannot be reached."""


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2) -> Iterator[Any]:
    """A ``distributed.Client`` on ``scheduler``, or on a local cluster of ``workers`` processes."""
    from distributed import Client

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as err:
            raise SchedulerError(f"--scheduler {scheduler}: cannot connect: {err}") from None
        with client:
            yield client
        return
    with local_cluster(workers, dashboard_address=":0") as cluster, Client(cluster) as client:  # any free port: another cluster may hold 8787
        yield client


def map_tasks(client: Any, fn: Callable[..., Any], tasks: Iterable[tuple], *, shared: dict | None = None,
              desc: str = "tasks", quiet: bool = False) -> Iterator[tuple[tuple, Any]]:
    """Yield ``(task, fn(*task, **shared))`` as each task finishes (any order). ``shared`` is
    sent to the workers once (scattered), not with every task."""
    from distributed import as_completed
    from tqdm import tqdm

    tasks = list(tasks)
    if not tasks:
        return
    shared_futures = {k: client.scatter(v, broadcast=True) for k, v in (shared or {}).items()}
    futures = {client.submit(fn, *t, **shared_futures, pure=False): t for t in tasks}
    with tqdm(total=len(tasks), desc=desc, unit="run", file=sys.stderr, disable=quiet) as bar:
        try:
            for future in as_completed(futures):
                result = future.result()
                bar.update(1)
                yield futures[future], result
        finally:
            client.cancel(list(futures))
