"""Runnable stories behind ``imbsk demo``: each function fits, scores, and writes tables and figures."""

from ._cifar import CIFAR_PRESETS, run_cifar_demo
from ._toy import run_toy_demo

__all__ = ["CIFAR_PRESETS", "run_cifar_demo", "run_toy_demo"]
