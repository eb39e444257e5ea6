"""Runnable stories behind ``imbsk demo``: each function fits, scores, and writes tables and figures."""

from ._cifar import (
    CIFAR_PRESETS,
    check_cifar_classes,
    cifar_figures,
    cifar_output_files,
    cifar_task_title,
    run_cifar_demo,
)
from ._output import check_output_folder
from ._toy import min_toy_samples, run_toy_demo, toy_output_files

__all__ = [
    "CIFAR_PRESETS",
    "check_cifar_classes",
    "check_output_folder",
    "cifar_figures",
    "cifar_output_files",
    "cifar_task_title",
    "min_toy_samples",
    "run_cifar_demo",
    "run_toy_demo",
    "toy_output_files",
]
