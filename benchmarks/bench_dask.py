"""A 5 sampling ratios x 5 folds grid search: serial, joblib's default backend, and a Dask LocalCluster.

    python benchmarks/bench_dask.py [--repeats 3] [--workloads toy image]

Two workloads, each ``GridSearchCV(pipeline, {5 sampling ratios}, cv=5, refit=False)`` (25 fits):

- ``toy``: ``make_toy_2d("overlapping", 4000 samples, ratio 10)``, ``RandomOverSampler`` +
  ``AdaBoostClassifier(n_estimators=60)``;
- ``image``: 600 random-content uint8 images 3x16x16 at 5:1 with a learnable minority signal, an N-D
  random oversampler + ``CNNClassifier("simple_cnn", width=8, 3 epochs)``; skipped if the
  classifier is not available.

Modes: ``serial`` (``n_jobs=1``), ``joblib`` (``n_jobs=2``, joblib's default loky backend), ``dask``
(``imbsk.parallel.dask_backend`` on a ``LocalCluster(n_workers=2, threads_per_worker=1)``). Every
process runs torch / BLAS on one thread, so the two jobs use the two cores. Cluster start-up and a
first warm-up run of each mode (process start, imports) are not timed; the table reports the median of
``--repeats`` timed runs and checks that all modes give identical ``cv_results_`` scores.
"""

import argparse
import os

# One thread per process, set before numpy / torch load, so that parallel jobs do not oversubscribe.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from imblearn import FunctionSampler  # noqa: E402
from sklearn.ensemble import AdaBoostClassifier  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402

from imbsk.datasets import make_toy_2d  # noqa: E402
from imbsk.parallel import dask_backend  # noqa: E402
from imbsk.pipeline import make_pipeline  # noqa: E402
from imbsk.sampling import RandomOverSampler  # noqa: E402

RATIOS = [0.2, 0.4, 0.6, 0.8, 1.0]


def oversample_nd(X, y, ratio=1.0, seed=0):
    """Random oversampling of the minority class up to ``ratio`` times the majority, for N-D X."""
    rng = np.random.RandomState(seed)
    counts = np.bincount(y)
    minority = counts.argmin()
    extra = max(int(round(ratio * counts.max())) - counts[minority], 0)
    idx = np.r_[np.arange(len(y)), rng.choice(np.flatnonzero(y == minority), extra)]
    return X[idx], y[idx]


def toy_workload():
    X, y = make_toy_2d("overlapping", n_samples=4000, imbalance_ratio=10, random_state=0)
    pipe = make_pipeline(RandomOverSampler(random_state=0), AdaBoostClassifier(n_estimators=60, random_state=0))
    return X, y, pipe, {"randomoversampler__sampling_strategy": RATIOS}


def image_workload():
    from imbsk.classifier import CNNClassifier

    rng = np.random.RandomState(0)
    y = np.r_[np.zeros(500, dtype=np.int64), np.ones(100, dtype=np.int64)]
    X = rng.randint(0, 200, size=(600, 3, 16, 16)).astype(np.uint8)
    X[y == 1, 0, 4:12, 4:12] += 40
    pipe = make_pipeline(
        FunctionSampler(func=oversample_nd, validate=False),
        CNNClassifier("simple_cnn", module__width=8, max_epochs=3, batch_size=64, random_state=0),
    )
    return X, y, pipe, {"functionsampler__kw_args": [{"ratio": r} for r in RATIOS]}


def run(X, y, pipe, grid, n_jobs, context=None):
    search = GridSearchCV(
        pipe, grid, cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring="balanced_accuracy",
        n_jobs=n_jobs, refit=False,
    )
    start = time.perf_counter()
    if context is None:
        search.fit(X, y)
    else:
        with context:
            search.fit(X, y)
    return time.perf_counter() - start, search.cv_results_


def scores(cv_results):
    return np.array([cv_results[f"split{i}_test_score"] for i in range(5)])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per mode (median reported)")
    parser.add_argument("--workloads", nargs="+", default=["toy", "image"], choices=["toy", "image"])
    args = parser.parse_args(argv)

    import torch
    from distributed import LocalCluster

    torch.set_num_threads(1)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
          f"torch {torch.__version__}, python {platform.python_version()}")
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    print(f"LocalCluster(2 workers x 1 thread) start-up: {time.perf_counter() - t0:.1f} s (not in the timings)")
    rows = []
    try:
        for name in args.workloads:
            try:
                X, y, pipe, grid = toy_workload() if name == "toy" else image_workload()
            except ImportError as exc:
                print(f"{name}: skipped ({exc})")
                continue
            modes = {
                "serial": lambda X=X, y=y, pipe=pipe, grid=grid: run(X, y, pipe, grid, 1),
                "joblib": lambda X=X, y=y, pipe=pipe, grid=grid: run(X, y, pipe, grid, 2),
                "dask": lambda X=X, y=y, pipe=pipe, grid=grid: run(X, y, pipe, grid, None, dask_backend(cluster)),
            }
            times = {m: [] for m in modes}
            reference = None
            for fn in modes.values():
                fn()  # warm-up: process start and imports
            # Interleave the modes so that a change of machine load hits all of them alike.
            for _ in range(args.repeats):
                for mode, fn in modes.items():
                    seconds, cv_results = fn()
                    times[mode].append(seconds)
                    if reference is None:
                        reference = scores(cv_results)
                    elif not np.array_equal(scores(cv_results), reference):
                        raise AssertionError(f"{name}/{mode}: cv_results_ differ from the serial run")
            med = {m: statistics.median(t) for m, t in times.items()}
            rows.append((name, med, times, os.getloadavg()[0]))
            print(f"{name}: " + ", ".join(f"{m} {', '.join(f'{t:.2f}' for t in ts)} s" for m, ts in times.items()))
    finally:
        cluster.close()

    print()
    print("| workload | serial (s) | joblib n_jobs=2 (s) | dask 2 workers (s) | speed-up n_jobs=2 vs 1 | "
          "dask vs joblib overhead | load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, med, _, load in rows:
        print(f"| {name} | {med['serial']:.2f} | {med['joblib']:.2f} | {med['dask']:.2f} | "
              f"{med['serial'] / med['joblib']:.2f}x | {100 * (med['dask'] / med['joblib'] - 1):+.0f}% | {load:.1f} |")


if __name__ == "__main__":
    main()
