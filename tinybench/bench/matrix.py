"""The benchmark matrix: every combination of models, schemes, targets, emulators, ... as cells,
run in parallel on Dask, each stored as soon as it finishes (:mod:`tinybench.bench.store`).

A spec is a TOML file (or the same axes from flags)::

    models = ["mcunet-5fps", "mbv2-w0.35"]       # shipped names or model files
    schemes = ["published", "full", "bias-only"] # `published`: the model's published schemes
    targets = ["stm32f746", "nrf52840"]
    steps = [1]
    [[group]]                                     # optional: more cells, each group's axes
    emulators = ["qemu"]                          # overriding the top-level ones
    schemes = ["49kb"]

Axes: models, schemes, targets, emulators, kernels, schedules, planners, tilings, steps. A
published label (``mcunet-5fps:49kb``) combines only with its own model. Cells run on a
``distributed`` cluster: a local one of worker processes by default, or an existing one given by
its scheduler address. A cell whose worker dies is retried once, then stored as a ``crash``.
"""

from __future__ import annotations

import contextlib
import itertools
import time
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

from tinybench.bench.cell import CellConfig, CellResult, run_cell
from tinybench.bench.cluster import local_cluster
from tinybench.bench.store import (cell_key, cell_rows, prediction_rows, provenance, read_provenance, stored_keys,
                                   write_cell, write_provenance)
from tinybench.errors import TinybenchError, quote
from tinybench.graph.schemes import published_schemes

#: Spec axis -> CellConfig field.
AXES = {"models": "model", "schemes": "scheme", "targets": "target", "emulators": "emulator", "kernels": "kernels",
        "schedules": "schedule", "planners": "planner", "tilings": "tiling", "steps": "steps"}
DEFAULTS = {"emulators": ["iss"], "kernels": [None], "schedules": ["reordered"], "planners": [None],
            "tilings": ["auto"], "steps": [3]}
REQUIRED = ("models", "schemes", "targets")


class SpecError(TinybenchError):
    """A matrix spec that cannot be expanded: names the file and the field."""


@dataclass
class MatrixSpec:
    axes: dict[str, list]
    groups: list[dict[str, list]] = field(default_factory=list)
    origin: str = "the command line"

    def to_json(self) -> dict:
        return {"axes": self.axes, "groups": self.groups}


def _axis_values(name: str, value, origin: str) -> list:
    if name not in AXES:
        raise SpecError(f"{origin}: unknown axis {quote(name)}; axes are {', '.join(AXES)}")
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SpecError(f"{origin}: axis {name} is empty")
    kind = int if name == "steps" else str
    for v in values:
        if not isinstance(v, kind) or isinstance(v, bool):
            raise SpecError(f"{origin}: {name} takes {kind.__name__} values, got {quote(v)}")
    return values


def _axes(table: dict, origin: str) -> dict[str, list]:
    return {k: _axis_values(k, v, origin) for k, v in table.items()}


def load_spec(path: Path | str) -> MatrixSpec:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SpecError(f"{path}: cannot read the matrix spec: {err}") from None
    groups = data.pop("group", [])
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise SpecError(f"{path}: `group` must be an array of tables ([[group]])")
    return MatrixSpec(_axes(data, str(path)), [_axes(g, f"{path}: group {i + 1}") for i, g in enumerate(groups)],
                      str(path))


def _schemes_for(model: str, schemes: list[str]) -> list[str]:
    out = []
    for s in schemes:
        if s == "published":
            out += [p.label for p in published_schemes() if p.model == model]
        elif ":" in s and not s.endswith(".toml") and s.rpartition(":")[0] != model:
            continue  # another model's published scheme
        else:  # a published scheme's short name is stored by its label, as `published` stores it
            out.append(next((p.label for p in published_schemes() if p.model == model and p.name == s), s))
    return out


def expand(spec: MatrixSpec, **fixed) -> list[CellConfig]:
    """The spec's cells, in order, each once; ``fixed`` sets CellConfig fields of every cell."""
    cells: dict[str, CellConfig] = {}
    for group in [{}, *spec.groups]:
        axes = {**DEFAULTS, **spec.axes, **group}
        missing = [a for a in REQUIRED if a not in axes]
        if missing:
            raise SpecError(f"{spec.origin}: no {', '.join(missing)} given")
        names = [a for a in AXES if a not in ("models", "schemes")]
        for model in axes["models"]:
            for scheme, *rest in itertools.product(_schemes_for(model, axes["schemes"]), *(axes[a] for a in names)):
                values = {AXES[a]: v for a, v in zip(names, rest) if v is not None}
                try:
                    cfg = CellConfig(model, scheme, **values, **fixed)
                except TypeError as err:
                    raise SpecError(f"{spec.origin}: {err}") from None
                cells.setdefault(cell_key(cfg), cfg)
    return list(cells.values())


def run_one(cfg: CellConfig, run_id: str) -> tuple[dict, list[dict]]:
    """Run one cell (on a worker): its stored rows. Never raises for a failure of the cell."""
    t0 = time.perf_counter()
    try:
        result = run_cell(cfg)
    except TinybenchError as err:  # a configuration that cannot be measured (unknown scheme, ...)
        return _failed_rows(cfg, run_id, "error", str(err), time.perf_counter() - t0)
    return cell_rows(cfg, result, run_id, time.perf_counter() - t0)


def _failed_rows(cfg: CellConfig, run_id: str, status: str, why: str, wall_s: float = 0.0) -> tuple[dict, list[dict]]:
    """The rows of a cell that produced no CellResult of its own (bad configuration, dead worker)."""
    return cell_rows(cfg, CellResult(status, why, cfg.emulator, cfg.target, asdict(cfg)), run_id, wall_s)


@dataclass
class MatrixRun:
    out: Path
    cells: int
    skipped: int = 0
    ran: int = 0
    failed: int = 0


Progress = Callable[[int, int, int, str], None]  # done, failed, remaining, slowest running


def _label(cfg: CellConfig) -> str:
    return f"{cfg.model} {cfg.scheme} {cfg.target} {cfg.emulator}"


def _prepare_out(out: Path, spec: MatrixSpec, cells: list[CellConfig], run_id: str, resume: bool | None) -> set[str]:
    """Keys already stored (to skip); refuses to mix another spec's results into a folder."""
    if (out / "provenance.json").exists():
        prov = read_provenance(out)
        same = prov.get("spec") == spec.to_json()
        if resume is False or (resume is None and not same):
            raise SpecError(f"{out} already holds results of {'this' if same else 'another'} spec: "
                            + ("use --resume to run only the missing cells, or another --out" if not same
                               else "use another --out, or --resume (the default) to run the missing cells"))
        done = stored_keys(out)
        write_provenance(out, {**provenance(prov.get("run_id", run_id), spec.to_json()), "resumed": True})
        return done & {cell_key(c) for c in cells}
    write_provenance(out, provenance(run_id, spec.to_json()))
    return set()


def run_matrix(spec: MatrixSpec, out: Path, *, cells: list[CellConfig] | None = None, workers: int | None = None,
               scheduler: str | None = None, predict_only: bool = False, resume: bool | None = None,
               progress: Progress | None = None) -> MatrixRun:
    """Run (or, with ``predict_only``, estimate) every cell of ``spec`` not yet stored in ``out``.

    ``workers=0`` runs the cells one after the other in this process (no cluster), which is
    also what the tests compare a cluster run with."""
    cells = expand(spec) if cells is None else cells
    run_id = time.strftime("%Y%m%dT%H%M%S")
    out = Path(out)
    done = _prepare_out(out, spec, cells, run_id, resume)
    todo = [c for c in cells if cell_key(c) not in done]
    summary = MatrixRun(out, len(cells), skipped=len(cells) - len(todo))
    report = progress or (lambda *a: None)

    def store(rows: tuple[dict, list[dict]]) -> None:
        write_cell(out, *rows)
        summary.ran += 1
        summary.failed += rows[0]["status"] not in ("ok", "predicted")

    if predict_only:
        _predict(todo, run_id, store)
    elif workers == 0 and scheduler is None:
        for cfg in todo:
            report(summary.ran, summary.failed, len(todo) - summary.ran, _label(cfg))
            store(run_one(cfg, run_id))
    else:
        _on_dask(todo, run_id, store, workers, scheduler, lambda slowest: report(
            summary.ran, summary.failed, len(todo) - summary.ran, slowest))
    report(summary.ran, summary.failed, 0, "")
    return summary


def _predict(cells: list[CellConfig], run_id: str, store: Callable) -> None:
    """The estimator answers in milliseconds: in this process, one batch."""
    from tinybench.bench.predict import predict_cells
    t0 = time.perf_counter()
    table = predict_cells(cells)
    wall = (time.perf_counter() - t0) / max(len(cells), 1)
    config = {f.name for f in fields(CellConfig)}
    for cfg, row in zip(cells, table.to_dict("records")):
        store(prediction_rows(cfg, {k: v for k, v in row.items() if k not in config}, run_id, wall))


def _on_dask(cells: list[CellConfig], run_id: str, store: Callable, workers: int | None, scheduler: str | None,
             report: Callable[[str], None]) -> None:
    import dask
    from distributed import Client, as_completed
    from distributed.scheduler import KilledWorker

    with dask.config.set({"distributed.scheduler.allowed-failures": 1,  # one retry when a worker dies
                          "distributed.worker.daemon": False}):
        with contextlib.ExitStack() as stack:
            cluster = None if scheduler else stack.enter_context(local_cluster(workers or None, dashboard_address=None))
            with Client(scheduler or cluster) as client:
                futures = {client.submit(run_one, cfg, run_id, key=f"cell-{cell_key(cfg)}", pure=False): cfg
                           for cfg in cells}
                started: dict[str, float] = {}
                pending = as_completed(futures)
                while not pending.is_empty():
                    for fut in pending.next_batch(block=False) or []:
                        cfg = futures[fut]
                        try:
                            rows = fut.result()
                        except KilledWorker as err:
                            rows = _failed_rows(cfg, run_id, "crash", f"the worker running it died twice: {err}")
                        except Exception as err:  # a bug in tinybench on the worker: stored, the run goes on
                            rows = _failed_rows(cfg, run_id, "crash", f"{type(err).__name__}: {err}")
                        store(rows)
                    report(_slowest(client, futures, started))
                    time.sleep(0.2)


def _slowest(client, futures: dict, started: dict[str, float]) -> str:
    """The cell that has been running longest (as the scheduler sees it), with its time."""
    now = time.monotonic()
    running = {k for keys in client.processing().values() for k in keys}
    for k in running:
        started.setdefault(k, now)
    by_key = {f.key: cfg for f, cfg in futures.items() if not f.done()}
    live = [(started[k], by_key[k]) for k in running if k in by_key]
    if not live:
        return ""
    t, cfg = min(live, key=lambda x: x[0])
    return f"{_label(cfg)} ({now - t:.0f} s)"
