"""Shared by the benchmark scripts: where they look for CIFAR-10, their ``--set key=value`` options, and the
``command:`` / ``machine:`` footer under each table with its append to ``--output``.

The data default is ``../shared/data`` beside this checkout, computed from this file's location, so that a
benchmark finds the data whatever directory it is run from.
"""

import ast
import os
import platform
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"


def parse_set(items):
    """``["key=value", ...]`` -> ``{key: value}``, each value a Python literal or else the plain string."""
    out = {}
    for item in items or []:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def command_line():
    """The command that ran this script, shell-quoted, with the interpreter's name: ``python bench_x.py --a 1``."""
    return shlex.join([Path(sys.executable).name, *sys.argv])


def machine_fields():
    """``"x86_64, 2 CPUs, torch 2.x"``: the start of every benchmark's machine line (imports torch when called)."""
    import torch

    return f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"


def resolve_device(device):
    """``"auto"`` -> ``"cuda"`` or ``"cpu"`` as torch finds; a CUDA device gains its name in brackets."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        device += f" ({torch.cuda.get_device_name(0)})"
    return device


def footer(device, wall, torch_threads=None):
    """The ``command:`` and ``machine:`` lines under a benchmark's table.

    ``torch_threads`` defaults to ``torch.get_num_threads()`` of this process; ``wall`` is in seconds.
    """
    import torch

    threads = torch.get_num_threads() if torch_threads is None else torch_threads
    return [
        f"command: `{command_line()}`",
        f"machine: {machine_fields()}, device {device}, torch threads {threads}; total wall time {wall:.0f} s",
    ]


def load_average():
    """The 1-minute load average, or NaN where the platform has none."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def omp_threads():
    """``"OMP_NUM_THREADS=<value or unset>"``, for the machine lines of the scikit-learn-only benchmarks."""
    return f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"


def append_table(text, output, sep="\n"):
    """Append ``sep + text`` to the markdown file ``output``; nothing when ``output`` is empty or None."""
    if output:
        with open(output, "a", encoding="utf-8") as f:
            f.write(sep + text)


def print_report(lines, output, device, wall, torch_threads=None):
    """Print ``lines`` with the :func:`footer` under them and append the whole to ``output``; returns the text."""
    text = "\n".join([*lines, "", *footer(device, wall, torch_threads)]) + "\n"
    print(text)
    append_table(text, output)
    return text
