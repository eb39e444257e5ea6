"""Which Dask settings cost the tiny-image grid time on a small machine: loky vs LocalCluster variants.

    python benchmarks/bench_dask_config.py [--repeats 7] [--workers 2] [--variants small-machine ...]

The image workload of ``bench_dask.py`` (25 ``CNNClassifier`` fits, 5 ratios x 5 folds) on joblib's
loky backend (``n_jobs=2``) and on two-worker ``LocalCluster`` variants through
``imbsk.parallel.dask_backend``. Each variant starts its own cluster, runs one untimed warm-up search
and one timed search, and closes it; loky and the variants are interleaved in every repeat. Prints each
repeat, the medians with the difference to loky, and the median of the per-repeat ratios to loky.

``--workers 1`` runs one worker against joblib with ``n_jobs=1`` (the fits in the calling process),
which leaves the second core to Dask's scheduler and event loops: what remains then is Dask's
per-task latency rather than its competition with the fits for the cores.

Variants (each a Dask configuration on top of the current one):

- ``trim-profile-monitors``: ``MALLOC_TRIM_THRESHOLD_`` out of the nanny's environment, the workers'
  profiler off, system / memory monitors at 2 s / 1 s (what ``SMALL_MACHINE_CONFIG`` held before the
  event-loop tick was added);
- ``small-machine``: :data:`imbsk.parallel.SMALL_MACHINE_CONFIG` (the above and the tick at 1 s);
- ``no-stealing``: ``small-machine`` with work stealing off;
- ``no-queuing``: ``small-machine`` with ``distributed.scheduler.worker-saturation: inf`` (tasks sent to
  the workers at once instead of queued on the scheduler);
- ``scatter``: ``small-machine``, with ``scatter=[X, y]`` passed to ``dask_backend``.
"""

import argparse
import statistics

import bench_dask as B  # sets *_NUM_THREADS=1 before numpy / torch load

from imbsk.parallel import SMALL_MACHINE_CONFIG

_TICK = "distributed.admin.tick.interval"
#: name -> (Dask configuration, whether ``dask_backend`` scatters ``[X, y]``)
VARIANTS = {
    "trim-profile-monitors": ({k: v for k, v in SMALL_MACHINE_CONFIG.items() if k != _TICK}, False),
    "small-machine": (SMALL_MACHINE_CONFIG, False),
    "no-stealing": (dict(SMALL_MACHINE_CONFIG, **{"distributed.scheduler.work-stealing": False}), False),
    "no-queuing": (dict(SMALL_MACHINE_CONFIG, **{"distributed.scheduler.worker-saturation": "inf"}), False),
    "scatter": (SMALL_MACHINE_CONFIG, True),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="loky jobs and Dask workers")
    parser.add_argument("--variants", nargs="+", default=["trim-profile-monitors", "small-machine", "no-queuing",
                                                           "scatter"], choices=list(VARIANTS))
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    X, y, pipe, grid = B.image_workload()
    B.run(X, y, pipe, grid, args.workers)  # warm-up: loky's workers start and import torch
    ref = f"joblib n_jobs={args.workers}"
    times = {name: [] for name in [ref, *args.variants]}
    for rep in range(args.repeats):
        times[ref].append(B.run(X, y, pipe, grid, args.workers)[0])
        for name in args.variants:
            config, scatter = VARIANTS[name]
            times[name].append(B.cluster_run(X, y, pipe, grid, config, args.workers, [X, y] if scatter else None)[0])
        print(rep, "  ".join(f"{k} {v[-1]:.2f}" for k, v in times.items()), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print()
    print(f"| mode ({args.workers} worker(s)) | median s | vs joblib | vs joblib, paired |")
    print("|---|---:|---:|---:|")
    for k, v in med.items():
        print(f"| {k} | {v:.2f} | {100 * (v / med[ref] - 1):+.0f}% | "
              f"{100 * (B.paired_ratio(times[k], times[ref]) - 1):+.0f}% |")


if __name__ == "__main__":
    main()
