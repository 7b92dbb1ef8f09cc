"""The estimator's calibration: costs per counted event, per kernel, for one target and kernel set.

A calibration file (JSON, ``tinybench/estimate/calibrations/<target>-<kernels>.json``) is written
by ``tinybench calibrate`` (:mod:`tinybench.bench.calibrate`) and holds, for every kernel, the
instructions and cycles each of its twin's counts costs, with the fit's residuals, and its
provenance: target, core, clock, compiler and flags, the cycle model, the seed, the date, and a
fingerprint of the firmware sources it was measured on (the kernel set's C files, their
headers and the harness). Predicting from a calibration whose fingerprint differs from the
sources in the tree would silently be wrong, so loading refuses it and says to recalibrate.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tinybench.errors import TinybenchError
from tinybench.kernels import host_c

CALIBRATION_SCHEMA = 1
CALIBRATION_DIR = Path(__file__).with_name("calibrations")


class CalibrationError(TinybenchError):
    """A calibration that is missing, corrupt, stale or lacks a kernel; says what to run."""


@dataclass
class KernelCost:
    """One kernel's costs per counted event (the names are its twin's ``features``)."""

    kernel: str
    features: tuple[str, ...]
    instructions: dict[str, float]
    cycles: dict[str, float]
    calls: int  # designed calls it was fitted on
    residuals: dict[str, dict[str, float]]  # metric -> in-sample / held-out max and median relative error


@dataclass
class Calibration:
    schema: int
    target: str
    core: str
    clock_hz: int
    kernels: str
    compiler: str
    flags: list[str]
    fingerprint: str
    cycle_model: str
    seed: int
    cases_per_kernel: int
    provenance: dict
    costs: dict[str, KernelCost] = field(default_factory=dict)
    code: dict[str, int] = field(default_factory=dict)  # kernel -> bytes of its function
    frames: dict[str, int] = field(default_factory=dict)  # kernel -> bytes of its stack frame
    step: dict[str, dict[str, float]] = field(default_factory=dict)  # metric -> fitted costs of a step's glue
    memory: dict[str, float] = field(default_factory=dict)  # fitted constants of the memory model
    path: Path | None = None

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        del data["path"]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        tmp.replace(path)
        self.path = path

    def _per_kernel(self, table: dict, kernel: str, what: str):
        if kernel not in table:
            raise CalibrationError(f"{self.path}: kernel {kernel} has no {what} in the calibration; run "
                                   f"{_refit(self.target, self.kernels)}")
        return table[kernel]

    def kernel_code(self, kernel: str) -> int:
        return self._per_kernel(self.code, kernel, "code size")

    def kernel_frame(self, kernel: str) -> int:
        return self._per_kernel(self.frames, kernel, "stack frame")

    def step_overhead(self, input_bytes: int, ops: int) -> tuple[float, float]:
        """Instructions and cycles of a step outside its ops (the sample copy, the glue)."""
        x = {"step": 1, "input_bytes": input_bytes, "ops": ops}
        return tuple(sum(self.step[m][k] * v for k, v in x.items()) for m in ("instructions", "cycles"))

    def cost(self, kernel: str) -> KernelCost:
        try:
            return self.costs[kernel]
        except KeyError:
            raise CalibrationError(f"{self.path}: kernel {kernel} has no calibration; run "
                                   f"{_refit(self.target, self.kernels)}") from None


def calibration_path(target: str, kernels: str) -> Path:
    """The calibration file of ``target`` and ``kernels``: in the package, or in the folder
    ``$TINYBENCH_CALIBRATIONS`` names (calibrations written elsewhere with ``--out``)."""
    return Path(os.environ.get("TINYBENCH_CALIBRATIONS") or CALIBRATION_DIR) / f"{target}-{kernels}.json"


_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def _included(sources: list[Path], include_dir: Path) -> list[Path]:
    """The headers of ``include_dir`` the sources include, directly or through each other."""
    seen: set[Path] = set()
    todo = list(sources)
    while todo:
        for name in _INCLUDE.findall(todo.pop().read_text()):
            header = include_dir / name
            if header.is_file() and header not in seen:
                seen.add(header)
                todo.append(header)
    return sorted(seen)


def firmware_files(kernels: str) -> list[Path]:
    """What a calibration of ``kernels`` measured: the set's kernel sources, the headers they
    include (not another set's), and the harness that brackets every call with its op markers."""
    root = host_c.FIRMWARE_DIR
    harness = root.parent / "harness"
    sources = host_c.sources(kernels, root)
    return sources + _included(sources, root / "include") + sorted(harness.glob("*.[ch]"))


def firmware_fingerprint(kernels: str) -> str:
    digest = hashlib.sha256()
    root = host_c.FIRMWARE_DIR.parent
    for f in firmware_files(kernels):
        digest.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()


def _refit(target: str, kernels: str) -> str:
    return f"run `tinybench calibrate --target {target} --kernels {kernels}`"


def read_calibration(path: Path) -> Calibration:
    """Read a calibration file, checking its structure (not its freshness)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise CalibrationError(f"{path}: no calibration file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CalibrationError(f"{path}: corrupt calibration file ({err})") from None
    try:
        if data["schema"] != CALIBRATION_SCHEMA:
            raise CalibrationError(f"{path}: calibration schema {data['schema']!r}, this tinybench reads "
                                   f"{CALIBRATION_SCHEMA}")
        costs = {}
        for name, c in data.pop("costs").items():
            c["features"] = tuple(c["features"])
            for metric in ("instructions", "cycles"):
                if set(c[metric]) != set(c["features"]):
                    raise CalibrationError(f"{path}: {name}: {metric} do not cover its features")
            costs[name] = KernelCost(**c)
        return Calibration(**data, costs=costs, path=path)
    except CalibrationError:
        raise
    except (KeyError, TypeError, AttributeError) as err:
        raise CalibrationError(f"{path}: corrupt calibration file (field {err})") from None


def load_calibration(target: str, kernels: str, path: Path | None = None) -> Calibration:
    """The calibration for ``target`` and ``kernels``, refused with a clear error if it is
    missing, corrupt, for another target or kernel set, or stale (the firmware sources changed
    since it was measured)."""
    path = path or calibration_path(target, kernels)
    if not path.exists():
        raise CalibrationError(f"{path}: no calibration for target {target} with the {kernels} kernels; "
                               f"{_refit(target, kernels)}")
    cal = read_calibration(path)
    if (cal.target, cal.kernels) != (target, kernels):
        raise CalibrationError(f"{path}: a calibration of {cal.target} with the {cal.kernels} kernels, not {target} "
                               f"with the {kernels} kernels")
    if cal.fingerprint != firmware_fingerprint(kernels):
        raise CalibrationError(f"{path}: stale: the kernel or harness sources changed since it was measured; "
                               f"{_refit(target, kernels)}")
    return cal
