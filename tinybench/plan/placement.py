"""The hot loops of the placements, compiled: one pass over a problem's conflicts per placement.

A placement puts groups one by one, each at an offset that collides with no group placed
before it. The conflicts of group i are a slice of flat arrays (compressed rows: entries
``start[i]`` to ``start[i + 1]``): group ``other[k]`` placed at y forbids the offsets
``[y + lo[k], y + hi[k])``, and its part there lives until op ``last[k]``. The search
planner runs several placements of every problem and the tiling choice plans several
problems per step, so these loops were most of the planning time of ``tinybench paper`` in
Python; compiled with Numba they are the same rules, with the same results (the offsets do
not depend on the order of forbidden ranges that start at the same offset: gaps follow a
running maximum, and the neighbour of a candidate is the longest-lived one).

The two placements are compiled eagerly, for their one signature, when this module is first
imported (then loaded from Numba's cache): compiling is a cost of the installation, not of
planning, so it never shows in a plan's ``planning_s``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

_ARRAY = types.int64[:]
_RESULT = types.Tuple((_ARRAY, types.boolean))

#: An offset, arena or bound above every real one.
UNBOUNDED = 1 << 62


@njit(cache=True)
def _forbidden(i, offsets, start, other, lo, hi, last):
    """The offsets ``[lo, hi)`` where group i would collide with a placed group, sorted by
    ``lo``, with the last op of the part there."""
    a, b = start[i], start[i + 1]
    flo = np.empty(b - a, np.int64)
    fhi = np.empty(b - a, np.int64)
    flast = np.empty(b - a, np.int64)
    n = 0
    for k in range(a, b):
        y = offsets[other[k]]
        if y >= 0:
            flo[n] = y + lo[k]
            fhi[n] = y + hi[k]
            flast[n] = last[k]
            n += 1
    s = np.argsort(flo[:n])
    return flo[:n][s], fhi[:n][s], flast[:n][s]


@njit(cache=True)
def _lowest(flo, fhi):
    """The lowest offset >= 0 outside every forbidden range."""
    cur = 0
    for k in range(flo.size):
        if flo[k] > cur:
            return cur
        if fhi[k] > cur:
            cur = fhi[k]
    return cur


@njit(_RESULT(*[_ARRAY] * 7, types.int64), cache=True)
def lowest_fit(order, start, other, lo, hi, last, peaks, beat):
    """Each group of ``order`` at its lowest free offset; (offsets, False) as soon as one
    reaches ``beat``."""
    offsets = np.full(peaks.size, -1, np.int64)
    for i in order:
        flo, fhi, _ = _forbidden(i, offsets, start, other, lo, hi, last)
        x = _lowest(flo, fhi)
        if x + peaks[i] >= beat:
            return offsets, False
        offsets[i] = x
    return offsets, True


@njit(cache=True)
def _candidates(flo, fhi, top, arena):
    """Both ends of every free range a group of ``top`` bytes fits in below ``arena``
    (sorted, each once): its lowest offset and its highest below the next forbidden range."""
    out = np.empty(2 * flo.size + 2, np.int64)
    n = 0
    cur = 0
    for k in range(flo.size + 1):
        gap_hi = flo[k] if k < flo.size else UNBOUNDED
        if gap_hi > cur and cur + top <= arena:
            out[n] = cur
            out[n + 1] = min(gap_hi - 1, arena - top)
            n += 2
        if k < flo.size and fhi[k] > cur:
            cur = fhi[k]
    return np.unique(out[:n])


@njit(_RESULT(*[_ARRAY] * 9, types.int64, types.int64), cache=True)
def against_an_end(order, start, other, lo, hi, last, peaks, lows, frees_low, arena, beat):
    """Each group of ``order`` at the bottom or the top of a free range below ``arena``, the
    one whose neighbour stays longest (the arena's ends stay forever; ties: the lowest
    offset, or the highest for a group whose low bytes free first, ``frees_low``, so that
    they join the free bytes below it), lowest fit where none fits; (offsets, False) as soon
    as one reaches ``beat`` (see planners._against_an_end)."""
    offsets = np.full(peaks.size, -1, np.int64)
    for i in order:
        top = peaks[i]
        flo, fhi, flast = _forbidden(i, offsets, start, other, lo, hi, last)
        cands = _candidates(flo, fhi, top, arena)
        if cands.size == 0:
            x = _lowest(flo, fhi)
        else:
            neighbour = np.full(cands.size, -1, np.int64)
            for k in range(flo.size):
                for y in (fhi[k], flo[k] - 1):
                    at = np.searchsorted(cands, y)
                    if at < cands.size and cands[at] == y and neighbour[at] < flast[k]:
                        neighbour[at] = flast[k]
            x, best = -1, -2
            for at in range(cands.size):
                y = cands[at]
                stays = UNBOUNDED if y + lows[i] == 0 or y + top == arena else neighbour[at]
                if stays > best or (stays == best and frees_low[i]):
                    x, best = y, stays
        if x + top >= beat:
            return offsets, False
        offsets[i] = x
    return offsets, True
