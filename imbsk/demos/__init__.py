"""Runnable stories behind ``imbsk demo``: each function fits, scores, and writes tables and figures."""

from ._toy import run_toy_demo

__all__ = ["run_toy_demo"]
