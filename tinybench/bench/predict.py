"""Predict benchmark cells without building firmware: the estimator's batch API for cells.

    from tinybench.bench.predict import predict_cells
    table = predict_cells([CellConfig("mcunet-5fps", "49kb", "stm32f746"), ...])   # a pandas DataFrame

One row per cell, with its configuration (the kernel set resolved to the target's default when
not given) and the predicted instructions, cycles, latency, phases and memory of all its steps
(see :mod:`tinybench.estimate.batch`: the first step from the model's data profile, later steps
as an expectation). ``tinybench matrix --predict-only`` and the scheme search use it.
"""

from __future__ import annotations

from typing import Iterable

from tinybench.bench.cell import CellConfig
from tinybench.codegen.firmware import default_kernels
from tinybench.estimate.batch import Configuration, estimate_configurations


def configuration(cell: CellConfig) -> Configuration:
    return Configuration(cell.model, cell.scheme, cell.target, cell.kernels or default_kernels(cell.target),
                         cell.schedule, cell.planner, cell.tiling, cell.steps, cell.lr, cell.qas, cell.sample)


def predict_cells(cells: Iterable[CellConfig]):
    return estimate_configurations(configuration(c) for c in cells)
