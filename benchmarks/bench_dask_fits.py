"""Where the Dask time goes on the tiny-image grid: slower fits inside the workers, or time between fits.

    python benchmarks/bench_dask_fits.py [--repeats 2]

Runs the 25 fits of ``bench_dask.py``'s image workload (5 ratios x 5 folds, ``CNNClassifier`` on
600 uint8 3x16x16 images) through joblib three ways: sequentially, on loky with ``n_jobs=2``, and on a
two-worker ``imbsk.parallel.local_cluster`` (``SMALL_MACHINE_CONFIG``) through joblib's dask backend. Each fit measures
its own wall time and CPU time inside the process that runs it. If Dask's extra wall time shows up as
longer fits with the same CPU time, the fits are being kept off the CPU (by the scheduler, the nannies
and the workers' event loops sharing the cores, or by the GIL), not delayed between tasks.
"""

import argparse
import os
import statistics
import threading
import time

import bench_dask as B  # sets *_NUM_THREADS=1 before numpy / torch load
from joblib import Parallel, delayed, parallel_config
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from imbsk.parallel import local_cluster


def one_fit(pipe, X, y, train, test, ratio):
    wall, cpu = time.perf_counter(), time.process_time()
    est = clone(pipe).set_params(functionsampler__kw_args={"ratio": ratio}).fit(X[train], y[train])
    est.score(X[test], y[test])
    return time.perf_counter() - wall, time.process_time() - cpu, threading.current_thread() is threading.main_thread()


def timed(pipe, X, y, jobs, **config):
    with parallel_config(**config):
        Parallel()(delayed(one_fit)(pipe, X, y, *job) for job in jobs[:4])  # warm-up: imports in workers
        start = time.perf_counter()
        out = Parallel()(delayed(one_fit)(pipe, X, y, *job) for job in jobs)
        return time.perf_counter() - start, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch
    from distributed import Client

    torch.set_num_threads(1)
    X, y, pipe, _ = B.image_workload()
    splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    jobs = [(train, test, r) for r in B.RATIOS for train, test in splits]
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, torch {torch.__version__}")
    print("| run | mode | wall (s) | mean fit wall (s) | mean fit CPU (s) | fit CPU / fit wall | "
          "wall not inside fits | fits in main thread |")
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    for rep in range(args.repeats):
        runs = [("serial", dict(backend="sequential", n_jobs=1)), ("loky", dict(backend="loky", n_jobs=2))]
        results = [(name, *timed(pipe, X, y, jobs, **config)) for name, config in runs]
        with local_cluster(2, 1, host="127.0.0.1") as cluster, Client(cluster):
            results.append(("dask-tuned", *timed(pipe, X, y, jobs, backend="dask", n_jobs=2)))
        for name, wall, out in results:
            fit_wall = [o[0] for o in out]
            fit_cpu = [o[1] for o in out]
            workers = 1 if name == "serial" else 2
            print(f"| {rep + 1} | {name} | {wall:.2f} | {statistics.mean(fit_wall):.3f} | "
                  f"{statistics.mean(fit_cpu):.3f} | {sum(fit_cpu) / sum(fit_wall):.2f} | "
                  f"{100 * (1 - sum(fit_wall) / (workers * wall)):.0f}% | {out[0][2]} |", flush=True)


if __name__ == "__main__":
    main()
