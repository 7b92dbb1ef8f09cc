"""The results store: every benchmark cell as one row of a tidy table, in Parquet.

A run's folder holds ``provenance.json`` (what produced it) and, per finished cell, one part
``cells/<key>.parquet`` (one row) and ``ops/<key>.parquet`` (one row per op of its last step).
A part is written to a temporary name and renamed, so a run that is killed loses no finished
cell and never leaves half a part; reading concatenates the parts (one line of pandas through
:func:`read_results`). A part that cannot be read, or that an unknown schema wrote, is reported
by name in ``Results.problems`` and costs only its own cell. docs/results.md lists the columns.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

import tinybench
from tinybench.bench.cell import CellConfig, CellResult
from tinybench.errors import TinybenchError

#: Version of the columns' meaning; a part of another version is refused by name.
SCHEMA_VERSION = 1
#: Configuration columns, in order: what makes a cell (its key is a hash of them).
CONFIG_COLUMNS = ("model", "scheme", "target", "emulator", "kernels", "schedule", "planner", "tiling", "steps",
                  "sample", "lr", "qas", "instruction_budget", "timeout_s")


class StoreError(TinybenchError):
    """A results folder that cannot be read as one (missing, not a folder, no provenance)."""


def cell_key(cfg: CellConfig) -> str:
    """A stable name of a cell's configuration: equal configurations, equal keys."""
    text = json.dumps({k: _plain(v) for k, v in asdict(cfg).items()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(value):
    """A value a Parquet column takes: tuples (a forced tiling) as text, NaN as None."""
    if isinstance(value, (tuple, list)):
        return ":".join(map(str, value))
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _scalars(prefix: str, values: dict) -> dict:
    """The scalar figures of ``values`` as columns ``<prefix><name>``; a nested mapping (the
    chosen tiling) flattened into ``<prefix><name>_<field>``; lists (per-step figures) left out."""
    out = {}
    for k, v in values.items():
        if isinstance(v, dict):
            out.update(_scalars(f"{prefix}{k}_", v))
        elif v is None or isinstance(v, (bool, int, float, str)):
            out[f"{prefix}{k}"] = _plain(v)
    return out


def cell_rows(cfg: CellConfig, result: CellResult, run_id: str, wall_s: float) -> tuple[dict, list[dict]]:
    """The tidy row of one cell and the rows of its ops (the last measured step)."""
    key = cell_key(cfg)
    config = {k: _plain(v) for k, v in result.config.items()}
    row = {"cell_key": key, "run_id": run_id, "schema_version": SCHEMA_VERSION,
           **{c: config.get(c) for c in CONFIG_COLUMNS}, "status": result.status, "reason": result.reason,
           **_scalars("measured_", result.measured), **_scalars("predicted_", result.predicted),
           **_scalars("error_", result.error),
           "checksum": result.measured.get("param_checksum"),
           "host_checksum": result.measured.get("host_reference_checksum"),
           **{f"build_{k}": result.build.get(k) for k in ("objects_compiled", "objects_cached")},
           **_scalars("time_", {f"{k}_s": v for k, v in result.timings.items()}),
           "wall_s": wall_s}
    ops = [{"cell_key": key, "op_index": i, **{("measured_" + k if k in ("instructions", "cycles", "dwt_cycles")
                                                 else k): _plain(v) for k, v in op.items()}}
           for i, op in enumerate(result.profile)]
    return row, ops


def prediction_rows(cfg: CellConfig, predicted: dict, run_id: str, wall_s: float) -> tuple[dict, list[dict]]:
    """The row of a cell that only the estimator answered (``matrix --predict-only``)."""
    status = predicted.pop("status", "ok")
    result = CellResult("predicted" if status == "ok" else status, predicted.pop("reason", ""), "none",
                        cfg.target, asdict(cfg), predicted=predicted)
    result.config["emulator"] = "none"
    return cell_rows(cfg, result, run_id, wall_s)


def write_part(path: Path, rows: list[dict]) -> None:
    """Rows as one Parquet file, atomically (a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pd.DataFrame(rows).to_parquet(tmp, index=False)
    os.replace(tmp, path)


def write_cell(out: Path, row: dict, ops: list[dict]) -> None:
    """Store one finished cell (its ops first: a cell part is what marks it done)."""
    if ops:
        write_part(out / "ops" / f"{row['cell_key']}.parquet", ops)
    write_part(out / "cells" / f"{row['cell_key']}.parquet", [row])


def _first_line(cmd: list[str]) -> str | None:
    """First stdout line of a git command run beside the package, None if it fails: unlike
    external.first_output_line, git's error text on stderr must never become a commit."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                             cwd=Path(tinybench.__file__).parent)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None


def provenance(run_id: str, spec: dict) -> dict:
    """What produced a run: tinybench and its commit, the kernel sources, the tools, the machine."""
    from tinybench.codegen.build import toolchain_version
    from tinybench.estimate.calibration import firmware_fingerprint
    from tinybench.external import first_output_line
    dirty = _first_line(["git", "status", "--porcelain", "--untracked-files=no"])
    return {"schema_version": SCHEMA_VERSION, "run_id": run_id, "spec": spec,
            "tinybench_version": tinybench.__version__ if hasattr(tinybench, "__version__") else None,
            "git_commit": _first_line(["git", "rev-parse", "HEAD"]), "git_dirty": dirty is not None,
            "kernel_sources": {k: firmware_fingerprint(k) for k in ("reference", "fast")},
            "compiler": toolchain_version(), "qemu": first_output_line(["qemu-system-arm", "--version"]),
            "renode": first_output_line(["renode", "--version"]),
            "python": platform.python_version(), "machine": f"{platform.node()} {platform.machine()} "
                                                              f"{os.cpu_count()} cores",
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def write_provenance(out: Path, prov: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".provenance.json.tmp"
    tmp.write_text(json.dumps(prov, indent=1, default=str) + "\n")
    os.replace(tmp, out / "provenance.json")


@dataclass
class Results:
    """A run's cells (one row each), ops (one row per op of a cell's last step), provenance,
    and the parts that could not be read (path: why)."""

    cells: pd.DataFrame
    ops: pd.DataFrame
    provenance: dict
    problems: dict[str, str] = field(default_factory=dict)


def _read_parts(folder: Path, problems: dict[str, str]) -> pd.DataFrame:
    frames = []
    for part in sorted(folder.glob("*.parquet")):
        try:
            frame = pd.read_parquet(part)
        except Exception as err:  # pyarrow raises several kinds for a damaged file
            problems[str(part)] = f"unreadable Parquet ({type(err).__name__}: {str(err)[:200]})"
            continue
        versions = set(frame.get("schema_version", pd.Series([SCHEMA_VERSION])).dropna().astype(int))
        if folder.name == "cells" and versions != {SCHEMA_VERSION}:
            problems[str(part)] = (f"written by results schema {sorted(versions)}, this tinybench reads schema "
                                   f"{SCHEMA_VERSION}: rerun the cell (tinybench matrix --resume runs it again)")
            continue
        frames.append(frame)
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _provenance(path: Path, problems: dict[str, str]) -> dict:
    """A folder's provenance.json ({} and a problem if unreadable); StoreError if it has none."""
    prov_file = path / "provenance.json"
    try:
        return json.loads(prov_file.read_text())
    except FileNotFoundError:
        raise StoreError(f"{path}: not a results folder (no provenance.json; `tinybench matrix --out {path}` "
                         "writes one)") from None
    except (OSError, ValueError) as err:
        problems[str(prov_file)] = f"unreadable provenance ({err})"
        return {}


def read_provenance(path: Path | str) -> dict:
    """Only the provenance of a results folder (what a resume compares), without its parts."""
    return _provenance(Path(path), {})


def read_results(path: Path | str) -> Results:
    """Read a run folder; raises StoreError only when it is not a results folder at all."""
    path = Path(path)
    if not path.is_dir():
        raise StoreError(f"{path}: no such results folder")
    problems: dict[str, str] = {}
    prov = _provenance(path, problems)
    if prov.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        problems[str(path / "provenance.json")] = (f"written by results schema {prov.get('schema_version')}, this tinybench "
                                    f"reads schema {SCHEMA_VERSION}")
    cells = _read_parts(path / "cells", problems)
    ops = _read_parts(path / "ops", problems)
    if not cells.empty and not ops.empty:
        ops = ops[ops["cell_key"].isin(cells["cell_key"])].reset_index(drop=True)
    return Results(cells, ops, prov, problems)


def stored_keys(path: Path) -> set[str]:
    """Keys of the cells a folder already holds (readable or not: a damaged part is reported
    by read_results, and its cell is run again only after it is removed)."""
    return {p.stem for p in (path / "cells").glob("*.parquet")}
