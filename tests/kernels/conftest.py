"""Fixtures of the kernel tests."""

from __future__ import annotations

import pytest

from tinybench.kernels import host_c


@pytest.fixture(scope="session")
def ck():
    """The C kernels built for the host (once per session, cached across sessions)."""
    return host_c.load()
