"""A 5 sampling ratios x 5 folds grid search: serial, joblib's default backend, and a Dask LocalCluster.

    python benchmarks/bench_dask.py [--repeats 3] [--workloads toy image]

Two workloads, each ``GridSearchCV(pipeline, {5 sampling ratios}, cv=5, refit=False)`` (25 fits):

- ``toy``: ``make_toy_2d("overlapping", 4000 samples, ratio 10)``, ``RandomOverSampler`` +
  ``AdaBoostClassifier(n_estimators=60)``;
- ``image``: 600 random-content uint8 images 3x16x16 at 5:1 with a learnable minority signal, an N-D
  random oversampler + ``CNNClassifier("simple_cnn", width=8, 3 epochs)``; skipped if the
  classifier is not available.

Modes: ``serial`` (``n_jobs=1``), ``joblib`` (``n_jobs=2``, joblib's default loky backend), ``dask``
(``imbsk.parallel.dask_backend`` on a ``LocalCluster(n_workers=2, threads_per_worker=1)`` with Dask's
default configuration) and ``dask-tuned`` (``imbsk.parallel.local_cluster`` with its default
:data:`imbsk.parallel.SMALL_MACHINE_CONFIG`: ``MALLOC_TRIM_THRESHOLD_`` taken out of
``distributed.nanny.pre-spawn-environ`` (see below), the workers' statistical profiler off, and the
system and memory monitors and the event-loop tick run every 1-2 s instead of every 20-500 ms; on 2
cores an idle two-worker cluster otherwise keeps about a fifth of a core busy). Every process runs
torch / BLAS on one thread, so the two jobs use the two cores. The table reports the median of
``--repeats`` timed runs (modes interleaved, their order rotated every repeat), the median of the
per-repeat ratios of ``dask-tuned`` to ``joblib`` (each repeat runs every mode back to back, so this
pairs runs made at the same machine speed), and the CPU seconds all processes spent in a search; it
checks that all modes give identical ``cv_results_`` scores.

Not timed: process start and imports (one warm-up run of serial and joblib before the first
repeat, one on every new cluster before its timed run), and cluster start-up. A cluster lives only
for its own mode's runs: an idle ``LocalCluster`` (scheduler, nannies, workers) keeps about a fifth of
a core busy, which would slow the other modes on 2 cores.

Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` (and the ``*_NUM_THREADS`` variables) in the
*calling* process's ``os.environ`` before it spawns a worker, so that the worker inherits them. With
that threshold glibc hands freed memory back to the system at once, and torch, which allocates and
frees its activations at every batch, pays for page faults again and again: the tiny-image fits run
about half as fast. It also leaks into every process started later from the caller, such as loky's
workers; this script restores the caller's environment after each cluster start.
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
from imbsk.parallel import dask_backend, local_cluster  # noqa: E402
from imbsk.pipeline import make_pipeline  # noqa: E402
from imbsk.sampling import RandomOverSampler  # noqa: E402

RATIOS = [0.2, 0.4, 0.6, 0.8, 1.0]
MODES = ("serial", "joblib", "dask", "dask-tuned")

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


def process_cpu_seconds():
    """CPU seconds (user + system) used so far by this process and each live child, keyed by pid."""
    import psutil  # a dependency of distributed, and of this script

    me = psutil.Process()
    out = {}
    for proc in [me, *me.children(recursive=True)]:
        try:
            out[proc.pid] = sum(proc.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return out


def run(X, y, pipe, grid, n_jobs, context=None):
    """Fit the search; return (wall seconds, cv_results_, CPU seconds of this process and its children)."""
    search = GridSearchCV(
        pipe, grid, cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring="balanced_accuracy",
        n_jobs=n_jobs, refit=False,
    )
    cpu_before = process_cpu_seconds()
    start = time.perf_counter()
    if context is None:
        search.fit(X, y)
    else:
        with context:
            search.fit(X, y)
    wall = time.perf_counter() - start
    cpu_after = process_cpu_seconds()
    # Processes alive at both ends; a worker is never started or stopped during a timed search.
    cpu = sum(cpu_after[pid] - cpu_before[pid] for pid in cpu_after.keys() & cpu_before.keys())
    return wall, search.cv_results_, cpu


def cluster_run(X, y, pipe, grid, config=None, n_workers=2, scatter=None):
    """``run`` on a new :func:`~imbsk.parallel.local_cluster` (``config`` as there), after one untimed
    warm-up search (the workers import torch and imbsk); the cluster is closed afterwards."""
    with local_cluster(n_workers, 1, config=config, host="127.0.0.1") as cluster:
        run(X, y, pipe, grid, None, dask_backend(cluster))
        return run(X, y, pipe, grid, None, dask_backend(cluster, scatter=scatter))


def paired_ratio(times, reference):
    """The median of the per-repeat ratios ``times[i] / reference[i]`` (runs of one repeat made back to back)."""
    return statistics.median(t / r for t, r in zip(times, reference))


def scores(cv_results):
    return np.array([cv_results[f"split{i}_test_score"] for i in range(5)])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per mode (median reported)")
    parser.add_argument("--workloads", nargs="+", default=["toy", "image"], choices=["toy", "image"])
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
          f"torch {torch.__version__}, python {platform.python_version()}")
    rows = []
    for name in args.workloads:
        try:
            X, y, pipe, grid = toy_workload() if name == "toy" else image_workload()
        except ImportError as exc:
            print(f"{name}: skipped ({exc})")
            continue

        def timed_run(mode, X=X, y=y, pipe=pipe, grid=grid):
            if mode in ("serial", "joblib"):
                return run(X, y, pipe, grid, 1 if mode == "serial" else 2)
            # None: SMALL_MACHINE_CONFIG; {}: Dask's own configuration. Either way the caller's
            # environment is restored once the workers are up, so loky's later workers do not inherit
            # the nanny's variables.
            return cluster_run(X, y, pipe, grid, config=None if mode == "dask-tuned" else {})

        # This process and loky's reusable workers stay warm from one repeat to the next; each cluster
        # is new and is warmed up inside timed_run.
        run(X, y, pipe, grid, 1)
        run(X, y, pipe, grid, 2)
        times = {m: [] for m in MODES}
        cpu = {m: [] for m in MODES}
        reference = None
        # Interleave the modes, and rotate their order from one repeat to the next, so that a change of
        # machine speed hits all of them alike and no mode always runs right after the same other one.
        for rep in range(args.repeats):
            for mode in MODES[rep % len(MODES):] + MODES[:rep % len(MODES)]:
                seconds, cv_results, cpu_seconds = timed_run(mode)
                times[mode].append(seconds)
                cpu[mode].append(cpu_seconds)
                if reference is None:
                    reference = scores(cv_results)
                elif not np.array_equal(scores(cv_results), reference):
                    raise AssertionError(f"{name}/{mode}: cv_results_ differ from the serial run")
        rows.append((name, times, cpu, os.getloadavg()[0]))
        for label, values in (("wall", times), ("cpu", cpu)):
            print(f"{name} {label}: " + "; ".join(f"{m} {', '.join(f'{t:.2f}' for t in ts)} s"
                                                   for m, ts in values.items()), flush=True)

    print()
    print("Medians over the repeats; 'paired' is the median of the per-repeat ratios (each repeat runs every mode "
          "once, back to back), the steadier figure when the machine's speed drifts. CPU: seconds used by this "
          "process and its children (workers, loky's processes) during the timed search.")
    print()
    print("| workload | serial (s) | joblib n_jobs=2 (s) | dask (s) | dask-tuned (s) | n_jobs=2 vs 1 | "
          "dask vs joblib | dask-tuned vs joblib | dask-tuned vs joblib, paired | CPU s joblib / dask-tuned | "
          "load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, times, cpu, load in rows:
        med = {m: statistics.median(t) for m, t in times.items()}
        paired = paired_ratio(times["dask-tuned"], times["joblib"])
        print(f"| {name} | {med['serial']:.2f} | {med['joblib']:.2f} | {med['dask']:.2f} | {med['dask-tuned']:.2f} | "
              f"{med['serial'] / med['joblib']:.2f}x | {100 * (med['dask'] / med['joblib'] - 1):+.0f}% | "
              f"{100 * (med['dask-tuned'] / med['joblib'] - 1):+.0f}% | {100 * (paired - 1):+.0f}% | "
              f"{statistics.median(cpu['joblib']):.2f} / {statistics.median(cpu['dask-tuned']):.2f} | {load:.1f} |")


if __name__ == "__main__":
    main()
