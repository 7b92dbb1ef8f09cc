"""Contribution analysis: how much accuracy each bias window and each layer's weights add.

The paper's scheme search (Lin et al. 2022, Sec. 3.3) scores a sparse update by summed
contributions measured one at a time, each from a short fine-tuning run:

- ``bias i``: the biases of the last i convolutions before the classifier (and the classifier,
  which every scheme updates); its contribution is its accuracy minus that of the classifier
  alone (``bias 0``);
- ``weight j r``: on top of the bias window that reaches layer j (``bias n-j``), the weights of
  layer j at ratio r of its input channels; its contribution is its accuracy minus that window's.

Every run starts from the same model (the same seeded head) and sees the same seeded samples in
the same order, so their differences come from the scheme, not from the draw. The runs use the
host's integer kernels with QAS on the offline digits task (:mod:`tinybench.models.dataset`),
run in parallel on Dask (:mod:`tinybench.bench.search_dask`), and each finished run is cached on
disk under a key of everything it depends on, so an interrupted analysis resumes where it
stopped and a repeated one costs nothing. The table is a DataFrame, stored as Parquet with its
provenance in the file's metadata.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from tinybench.graph.schemes import Scheme, resolve
from tinybench.graph.training import compile_training
from tinybench.models.ir import ConvKind, Model
from tinybench.paths import cache_dir

#: Weight-update ratios measured for every candidate layer (the paper's).
RATIOS = (0.125, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class AnalysisSetup:
    """What a contribution table depends on, besides the model."""

    steps: int = 100  # SGD steps of each run (batch 1)
    eval_samples: int = 100  # test images each run is scored on
    layers: int = 4  # candidate weight layers (non-depthwise, spread over the second half)
    seed: int = 0  # the new head's weights, the data order
    lr: float = 0.01
    qas: bool = True
    kernels: str = "numba"
    task: str = "digits"


@dataclass(frozen=True)
class Run:
    """One fine-tuning run of the analysis: a bias window and at most one weight layer."""

    n_bias: int
    layer: int | None = None
    ratio: float = 0.0

    @property
    def kind(self) -> str:
        return "bias" if self.layer is None else "weight"

    def scheme(self) -> Scheme:
        if self.layer is None:
            return Scheme(f"bias-{self.n_bias}", self.n_bias)
        return Scheme(f"w{self.layer}-{self.ratio:g}", self.n_bias, (self.layer,), (self.ratio,))


def candidate_layers(model: Model, count: int) -> tuple[int, ...]:
    """``count`` non-depthwise convolutions spread evenly over the second half of the network
    before the classifier (the paper's schemes update weights there: deep layers hold few
    activations, and depthwise weights add little), the last one included."""
    n = len(model.convs) - 1
    pool = [c.index for c in model.convs[:n] if c.kind is not ConvKind.DEPTHWISE and c.index >= n // 2]
    if not pool:
        pool = [c.index for c in model.convs[:n] if c.kind is not ConvKind.DEPTHWISE]
    if count >= len(pool):
        return tuple(pool)
    picks = {pool[round(i * (len(pool) - 1) / max(count - 1, 1))] for i in range(count)} if count > 0 else set()
    return tuple(sorted(picks))


def analysis_runs(model: Model, setup: AnalysisSetup) -> list[Run]:
    """The runs of the analysis: the classifier alone, each candidate's bias window, and each
    candidate at each ratio on top of its window."""
    n = len(model.convs) - 1
    layers = candidate_layers(model, setup.layers)
    windows = sorted({0, *(n - j for j in layers)})
    return [Run(i) for i in windows] + [Run(n - j, j, r) for j in layers for r in RATIOS]


def model_fingerprint(model: Model) -> str:
    """A hash of what training depends on: the input, every convolution's shape, parameters and
    quantization (the new head included)."""
    h = hashlib.sha256(repr((model.name, model.input_shape)).encode())
    for c in model.convs:
        h.update(repr((c.index, c.kind.value, c.kernel, c.stride, c.groups, c.in_shape, c.out_channels,
                       c.x.scale, c.x.zero_point, c.y.scale, c.y.zero_point)).encode())
        for a in (c.weight, c.bias, c.w_scales):
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def fine_tune(run: Run, setup: AnalysisSetup, model: Model) -> dict:
    """One run on a worker: train ``setup.steps`` steps with ``run``'s scheme, score the test split."""
    return fine_tune_scheme(run.scheme(), setup, model)


def fine_tune_scheme(scheme: Scheme, setup: AnalysisSetup, model: Model) -> dict:
    """Train ``setup.steps`` steps of ``scheme`` from ``model`` (not modified), score the test split."""
    from tinybench.kernels.executor import TrainingStep, host_c_kernels, numba_kernels
    from tinybench.kernels.trainer import train
    from tinybench.models.dataset import digits
    from tinybench.plan.memory import plan_memory

    start = time.perf_counter()
    graph = compile_training(model.copy(), resolve(scheme, model), "reordered")
    kernels = numba_kernels() if setup.kernels == "numba" else host_c_kernels()
    step = TrainingStep(plan_memory(graph), kernels, lr=setup.lr, qas=setup.qas)
    train_split, test_split = digits(size=model.input_shape[0], seed=setup.seed)
    result = train(step, train_split, test_split, setup.steps, setup.eval_samples, setup.seed, evaluate_before=False)
    after = result.after
    return {"accuracy": after.accuracy, "loss": after.loss, "eval_samples": after.samples,
            "train_loss": float(np.mean(result.train_loss)) if result.train_loss else math.nan,
            "seconds": time.perf_counter() - start}


def _cache_folder(model: Model, setup: AnalysisSetup) -> Path:
    key = hashlib.sha256(json.dumps([model_fingerprint(model), asdict(setup), _kernel_fingerprint()],
                                    sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir("search") / f"{model.name}-{key}"


def _kernel_fingerprint() -> str:
    """The Numba kernels' sources: an edit of the arithmetic makes the cached runs stale."""
    from tinybench.kernels import numba_cache

    return numba_cache.sources_digest()


def _run_file(folder: Path, run: Run) -> Path:
    return folder / f"{run.n_bias}-{run.layer}-{run.ratio:g}.json"


def analyse(model: Model, setup: AnalysisSetup, client_factory, *, quiet: bool = False):
    """The contribution table of ``model`` (a DataFrame, one row per run), from the cache where
    a run is there, else on Dask (``client_factory()``: a context manager giving a client,
    entered only if something is left to run). Each run is written to the cache as it ends."""
    import pandas as pd

    from tinybench.bench.search_dask import map_tasks

    folder = _cache_folder(model, setup)
    folder.mkdir(parents=True, exist_ok=True)
    runs = analysis_runs(model, setup)
    results: dict[Run, dict] = {}
    for run in runs:
        f = _run_file(folder, run)
        if f.is_file():
            try:
                results[run] = json.loads(f.read_text())
            except (OSError, json.JSONDecodeError):
                pass  # a run cut off while written is run again
    todo = [(run, setup) for run in runs if run not in results]
    if todo:
        with client_factory() as client:
            for (run, _), result in map_tasks(client, fine_tune, todo, shared={"model": model},
                                              desc=f"contributions of {model.name}", quiet=quiet):
                tmp = _run_file(folder, run).with_suffix(".tmp")
                tmp.write_text(json.dumps(result))
                tmp.replace(_run_file(folder, run))
                results[run] = result
    n = len(model.convs) - 1
    base = results[Run(0)]["accuracy"]
    rows = []
    for run in runs:
        r = results[run]
        reference = base if run.layer is None else results[Run(run.n_bias)]["accuracy"]
        rows.append({"kind": run.kind, "n_bias": run.n_bias, "layer": -1 if run.layer is None else run.layer,
                     "ratio": run.ratio, "channels": 0 if run.layer is None else
                     int(math.floor(run.ratio * model.convs[run.layer].in_channels + 0.5)),
                     "accuracy": r["accuracy"], "contribution": r["accuracy"] - reference, "loss": r["loss"],
                     "train_loss": r["train_loss"], "eval_samples": r["eval_samples"], "seconds": r["seconds"],
                     "cached": run not in dict(todo)})
    table = pd.DataFrame(rows)
    table.attrs["provenance"] = provenance(model, setup, n, folder)
    return table


def provenance(model: Model, setup: AnalysisSetup, n: int, folder: Path) -> dict:
    import tinybench

    return {"model": model.name, "model_fingerprint": model_fingerprint(model), "convs_before_classifier": n,
            "setup": asdict(setup), "kernel_fingerprint": _kernel_fingerprint(),
            "tinybench": getattr(tinybench, "__version__", "unknown"), "python": platform.python_version(),
            "written": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cache": str(folder),
            "definition": "bias rows: accuracy minus the classifier-only run (n_bias 0); weight rows: accuracy "
                          "minus the run of the same bias window without weights"}


def write_table(table, path: Path) -> Path:
    """Write the table as Parquet, its provenance in the schema metadata (key ``tinybench``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    meta = {**(arrow.schema.metadata or {}), b"tinybench": json.dumps(table.attrs.get("provenance", {})).encode()}
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(arrow.replace_schema_metadata(meta), path)
    return path


def read_table(path: Path):
    """A table written by :func:`write_table`, its provenance back in ``attrs``."""
    import pyarrow.parquet as pq

    arrow = pq.read_table(path)
    table = arrow.to_pandas()
    table.attrs["provenance"] = json.loads((arrow.schema.metadata or {}).get(b"tinybench", b"{}"))
    return table
