"""Time the CIFAR-10 loaders on the real data and print a markdown table.

Usage::

    python benchmarks/bench_load.py [--data ../shared/data] [--repeats 3] [--work DIR]

``--data`` is a folder holding ``cifar10-jpeg.tar.gz`` and ``make_cifar10_python.py``; by default
``../shared/data`` beside this checkout, wherever the script is run from. The archive is
extracted and the official python layout is built in a scratch folder (``--work``, default a temporary
folder removed afterwards); neither step is timed. Every timed row loads both splits, all 60,000 images.
"Cold" means without imbsk's array cache; the operating system's file cache is warm after the first run.
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
from _paths import DEFAULT_DATA

from imbsk.datasets import load_cifar10, load_image_folder


def _time(fn, repeats):
    times, n = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = fn()
        times.append(time.perf_counter() - t0)
    return n, times


def _sorted_rows(X):
    # The official batches are shuffled, so images are compared as sets of rows.
    rows = X.reshape(len(X), -1)
    return rows[np.lexsort(rows.T[::-1])]


def _both_splits(load):
    def run():
        return sum(len(load(split)[1]) for split in ("train", "test"))

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA, type=Path,
                        help="folder with cifar10-jpeg.tar.gz (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per row (median reported)")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args(argv)

    archive = args.data / "cifar10-jpeg.tar.gz"
    if not archive.is_file():
        parser.error(f"{archive} not found")
    work = Path(tempfile.mkdtemp(prefix="imbsk-bench-")) if args.work is None else args.work
    work.mkdir(parents=True, exist_ok=True)
    try:
        if not (work / "cifar10-jpeg").is_dir():
            with tarfile.open(archive) as tar:
                tar.extractall(work, filter="data")
        if not (work / "cifar-10-batches-py").is_dir():
            subprocess.run([sys.executable, str(args.data / "make_cifar10_python.py"), str(work)], check=True,
                           stdout=subprocess.DEVNULL)
        folder = work / "cifar10-jpeg"
        cache = work / "cache"
        # Fill the array cache once, untimed, so the "cached" row measures reuse only.
        for split in ("train", "test"):
            load_image_folder(folder / split, cache_dir=cache)

        n_cpu = os.cpu_count()
        rows = [
            ("image folder, cold, 1 thread", lambda s: load_image_folder(folder / s, n_threads=1)),
            (f"image folder, cold, {n_cpu} threads", lambda s: load_image_folder(folder / s)),
            ("image folder, cached", lambda s: load_image_folder(folder / s, cache_dir=cache)),
            ("cifar10-jpeg.tar.gz, read in place", lambda s: load_cifar10(args.data, split=s)),
            ("official layout (cifar-10-batches-py)", lambda s: load_cifar10(work, split=s)),
        ]
        results = []
        for name, load in rows:
            n, times = _time(_both_splits(load), args.repeats)
            results.append((name, n, times))

        # The two layouts must hold the same images; a table of fast wrong loads would be worthless.
        X_off, y_off = load_cifar10(work, split="test", classes=["cat", "dog"])
        X_img, y_img = load_cifar10(folder.parent, split="test", classes=["cat", "dog"])
        same = all(np.array_equal(_sorted_rows(X_off[y_off == k]), _sorted_rows(X_img[y_img == k])) for k in (0, 1))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"Machine: {platform.platform()}, {n_cpu} CPU cores, Python {platform.python_version()}")
    print(f"Command: python benchmarks/bench_load.py --data {args.data} --repeats {args.repeats}")
    print(f"Official and image-folder cat/dog test images agree: {same}\n")
    print("| loader (train + test) | images | median s | runs (s) |")
    print("|---|---:|---:|---|")
    for name, n, times in results:
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"| {name} | {n:,} | {statistics.median(times):.2f} | {runs} |")


if __name__ == "__main__":
    main()
