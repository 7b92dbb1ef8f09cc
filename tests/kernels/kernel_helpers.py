"""Helpers of the kernel tests: run both implementations and compare them bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from tinybench.kernels import KERNELS

#: Every Numba kernel with a C twin in tb_kernels.h.
ALL_KERNELS = KERNELS


def _copy(a):
    return a.copy() if isinstance(a, np.ndarray) else a


def assert_same_arrays(name: str, what: str, numba_out: np.ndarray, c_out: np.ndarray) -> None:
    """Bit-exact comparison that names the differing flat indices and values."""
    assert numba_out.shape == c_out.shape and numba_out.dtype == c_out.dtype
    diff = np.flatnonzero(numba_out != c_out)
    if diff.size:
        shown = ", ".join(f"[{i}] numba={numba_out.flat[i]} c={c_out.flat[i]}" for i in diff[:20])
        pytest.fail(f"{name}: {what} differs at {diff.size} of {numba_out.size} indices: {shown}")


def run_both(ck, name: str, args: list):
    """Run the Numba and the C kernel on copies of ``args``; assert every array argument
    (outputs, in-place parameters and inputs alike) and the return value are identical.

    Returns the Numba arguments after the call and the return value.
    """
    a_nb = [_copy(a) for a in args]
    a_c = [_copy(a) for a in args]
    r_nb = ALL_KERNELS[name](*a_nb)
    r_c = getattr(ck, name)(*a_c)
    params = [p.name for p in ck.prototypes[name].params]
    for pname, x, y in zip(params, a_nb, a_c):
        if isinstance(x, np.ndarray):
            assert_same_arrays(name, pname, x, y)
    if r_nb is None:
        assert r_c is None, f"{name}: C returned {r_c}, Numba nothing"
    else:
        assert int(r_nb) == int(r_c), f"{name}: return value numba={r_nb} c={r_c}"
    return a_nb, (None if r_nb is None else int(r_nb))
