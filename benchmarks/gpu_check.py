"""The GPU check in one command: CUDA tests, ResNet-32 throughput and one CIFAR row of each task, in 10 minutes.

    make gpu-check
    python benchmarks/gpu_check.py [--data ../shared/data] [--output benchmarks/results/gpu_check.md] [--dry-run]

Where torch sees no CUDA device it prints one line saying so and exits 0 within seconds, so that CI can
run it anywhere. With a device it runs these steps one after the other, each under its own time limit
and all of them within 10 minutes:

1. the tests that mention CUDA (``pytest -m "cuda and not slow"``; ``tests/conftest.py`` marks them);
2. ``bench_gpu_training.py``: training images/s of ResNet-32 (and SimpleCNN) on 20,000 random CIFAR-sized
   images, 4 epochs a configuration (about a minute);
3. ``bench_cifar.py --task catdog``: the cat-vs-dog recipe (``balanced_aug``, SimpleCNN, 70 epochs, seed 0;
   0.803 and 839 s on 2 CPU cores in ``results/cifar.md``) on the CUDA device;
4. ``bench_cifar.py --task lt --ir 100``: balanced softmax, ResNet-32, 100 epochs, seed 0 (the published
   recipe trains 200; this row is sized to a few minutes).

The CIFAR rows read ``--data`` (default: ``../shared/data`` beside this checkout). What the steps print
(tables, test counts, wall times, or the end of the output of a step that failed or ran out of time) is
appended to ``--output`` under a heading with the date and the machine. Exit status 1 when a step failed
or timed out, else 0. ``--dry-run`` prints the steps and their limits without running anything.
"""

import argparse
import datetime
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _paths import DEFAULT_DATA, REPO

TOTAL_LIMIT_S = 600
# Kept back from the total for starting Python, reading the device's properties and writing the results.
RESERVE_S = 20
DEFAULT_OUTPUT = REPO / "benchmarks" / "results" / "gpu_check.md"
_BENCH = REPO / "benchmarks"


@dataclass
class Step:
    name: str
    argv: list
    limit_s: int
    needs_data: bool = False
    kind: str = "benchmark"  # or "pytest": what to keep of the output


def plan(data, python=sys.executable):
    """The steps and their time limits; the limits add up to at most ``TOTAL_LIMIT_S - RESERVE_S``."""
    cifar = [python, str(_BENCH / "bench_cifar.py"), "--data", str(data), "--device", "cuda", "--seeds", "0"]
    return [
        Step("CUDA tests", [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "cuda and not slow"], 90,
             kind="pytest"),
        Step("ResNet-32 training throughput",
             [python, str(_BENCH / "bench_gpu_training.py"), "--n", "20000", "--epochs", "4"], 100),
        Step("cat vs dog 5,000:500, balanced_aug, SimpleCNN, 70 epochs",
             cifar + ["--task", "catdog", "--rows", "balanced_aug", "--epochs", "70"], 120, needs_data=True),
        Step("CIFAR-10-LT IR 100, balanced softmax, ResNet-32, 100 epochs",
             cifar + ["--task", "lt", "--ir", "100", "--rows", "bsoftmax", "--epochs", "100"], 270, needs_data=True),
    ]


def no_cuda_reason():
    """``None`` when torch sees a CUDA device, else why not (one short clause)."""
    import torch

    if torch.cuda.is_available():
        return None
    if torch.version.cuda is None:
        return f"torch {torch.__version__} is a CPU-only build"
    return f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no CUDA device"


def machine():
    import torch

    props = torch.cuda.get_device_properties(0)
    return (f"{props.name} ({props.total_memory / 2**30:.0f} GiB), {torch.cuda.device_count()} device(s), "
            f"torch {torch.__version__} (CUDA {torch.version.cuda}), {platform.node()}, {os.cpu_count()} CPUs")


def run_step(step, timeout_s):
    """Run ``step`` in its own process group; returns (status, seconds, output)."""
    start = time.perf_counter()
    proc = subprocess.Popen(step.argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout_s)
        status = "passed" if proc.returncode == 0 else f"failed (exit status {proc.returncode})"
    except subprocess.TimeoutExpired:
        # The step's own process group: the child and anything it started, nothing else.
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        status = f"timed out after {timeout_s:.0f} s"
    return status, time.perf_counter() - start, output or ""


def summary(step, status, output):
    """The lines worth keeping: the tables a benchmark printed, the counts of pytest, or the end of a failure."""
    lines = output.rstrip().splitlines()
    if step.kind == "pytest":
        keep = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
        return keep + lines[-1:] if status == "passed" else keep + lines[-15:]
    if status != "passed":
        return lines[-15:]
    table = next((i for i, line in enumerate(lines) if line.startswith("|")), None)
    if table is None:
        return lines[-15:]
    # The paragraph just above the table says what was measured (device, data, task, epochs).
    start = table - 1
    while start >= 0 and not lines[start].strip():
        start -= 1
    while start > 0 and lines[start - 1].strip():
        start -= 1
    return lines[max(start, 0):]


def append_results(path, header, sections):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with open(path, "a") as f:
        if new:
            f.write("# GPU check\n\nWritten by `make gpu-check` (`benchmarks/gpu_check.py`); each run is appended "
                    "below, newest last.\n")
        f.write("\n" + header + "\n")
        for title, command, lines in sections:
            f.write(f"\n### {title}\n\n`{command}`\n\n")
            if not any(line.startswith("|") for line in lines):
                lines = ["    " + line for line in lines]  # test counts or a traceback: verbatim
            f.write("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="CIFAR-10 folder for the CIFAR rows (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="markdown file the results are appended to (default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="print the steps and their limits, run nothing")
    args = parser.parse_args(argv)

    steps = plan(args.data)
    if args.dry_run:
        for step in steps:
            print(f"{step.limit_s:4d} s  {step.name}: {shlex.join(step.argv)}")
        print(f"total limit {TOTAL_LIMIT_S} s, {RESERVE_S} s of it kept for start-up and writing the results")
        return 0

    reason = no_cuda_reason()
    if reason is not None:
        print(f"gpu-check: skipped, {reason}; nothing was run or written.")
        return 0

    deadline = time.monotonic() + TOTAL_LIMIT_S - RESERVE_S
    started = datetime.datetime.now(datetime.timezone.utc)
    header = f"## {started:%Y-%m-%d %H:%M} UTC: {machine()}"
    print(f"gpu-check: {header[3:]}", flush=True)
    sections, ok = [], True
    for i, step in enumerate(steps, 1):
        command = shlex.join([Path(a).name if a == sys.executable else a for a in step.argv])
        left = deadline - time.monotonic()
        if step.needs_data and not args.data.exists():
            status, seconds, lines = f"not run: no CIFAR-10 folder at {args.data}", 0.0, []
        elif left < 10:
            status, seconds, lines = "not run: the 10-minute limit was reached", 0.0, []
        else:
            print(f"[{i}/{len(steps)}] {step.name} (limit {min(step.limit_s, left):.0f} s) ...", flush=True)
            status, seconds, output = run_step(step, min(step.limit_s, left))
            lines = summary(step, status, output)
        ok = ok and status == "passed"
        title = f"{step.name}: {status}, {seconds:.0f} s"
        print(f"[{i}/{len(steps)}] {title}", flush=True)
        print("\n".join(lines), flush=True)
        sections.append((title, command, lines))
    total = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
    verdict = "every step passed" if ok else "NOT every step passed"
    header += f"\n\nTotal {total:.0f} s of the {TOTAL_LIMIT_S} s limit; {verdict}."
    append_results(args.output, header, sections)
    print(f"gpu-check: {'passed' if ok else 'FAILED'} in {total:.0f} s; results appended to {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
