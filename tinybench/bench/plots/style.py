"""One style for every figure: the Okabe-Ito colour-blind-safe palette, sizes legible at a
paper's column width (3.4 in), labelled axes with units."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt  # noqa: E402

#: Okabe & Ito (2008), in the order series take them.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
COLUMN_IN = 3.4
RC = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7, "xtick.labelsize": 7,
      "ytick.labelsize": 7, "axes.prop_cycle": matplotlib.cycler(color=PALETTE), "axes.spines.top": False,
      "axes.spines.right": False, "svg.fonttype": "none", "figure.dpi": 150}


plt.rcParams.update(RC)


def figure(width: float = 2.0, height: float = 2.4, **kwargs):
    """A figure ``width`` columns wide (in inches of a paper column), in the project's style."""
    return plt.subplots(figsize=(COLUMN_IN * width, height), layout="constrained", **kwargs)


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]
