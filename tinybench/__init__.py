"""tinybench: simulator-centric benchmarking of on-device training under 256 KB of SRAM."""

__version__ = "0.1.0"
