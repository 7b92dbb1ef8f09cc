"""Fixtures: cached builds of the hand-written test firmwares, backends that skip when absent."""

from tinybench.emulate.testing import backend, firmware  # noqa: F401  (pytest fixtures)
