"""5-fold cross-validation of a small CNN on digits: serial against ``n_jobs=2`` (and a Dask cluster).

    python benchmarks/bench_parallel_cv.py [--epochs 5] [--repeats 5] [--modes serial serial-1t loky loky-cold]
        [--set key=value ...] [--output benchmarks/results/parallel_cv.md]

Work: ``cross_validate(CNNClassifier(module="simple_cnn", max_epochs=E, random_state=0), X, y,
cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring="balanced_accuracy", n_jobs=J)`` on
scikit-learn's digits as uint8 images (1797, 1, 8, 8); ``--set`` adds classifier parameters.

Modes:

- ``serial``: ``n_jobs=1`` with torch's thread count as this process has it (one per core unless
  ``OMP_NUM_THREADS`` says otherwise): what a user gets;
- ``serial-1t``: ``n_jobs=1`` with ``torch.set_num_threads(1)`` for the call: the speed of one fit on
  one core, which is what each of two parallel workers can have;
- ``loky``: ``n_jobs=2``, joblib's default backend, its worker processes already running (started and
  warmed up by an untimed run): a second ``cross_validate`` in the same session;
- ``loky-cold``: ``n_jobs=2`` after the reusable worker pool has been shut down, so that the timed
  call starts the workers, imports torch and imbsk in them and pays every first-call cost there: what a
  script that calls ``cross_validate`` once sees;
- ``threading``: ``n_jobs=2`` under ``joblib.parallel_config(backend="threading")``, two fits at a time
  in threads of this process, torch on one thread for the call: no worker processes to start. Its
  scores are not checked: the classifier seeds torch's global generator, which two fits running at
  once in one process share, so their results depend on timing;
- ``dask``: :func:`imbsk.parallel.dask_backend` on a :func:`imbsk.parallel.local_cluster` of two
  single-threaded workers, started (and warmed up) once before the repeats, cluster start-up not timed.

Modes are interleaved and their order rotated from one repeat to the next, so that a change of machine
speed hits all of them alike. The table reports per mode the median wall time, the paired ratio (the
median over repeats of serial's time divided by the mode's time in the same repeat), the median CPU
seconds of this process and its children (workers) during the call, the median per-fit time that
``cross_validate`` records (``fit_time``, the time one fit took where it ran), and whether the test
scores equal those of ``serial`` and of ``serial-1t``. The script fails if a mode's scores differ
between repeats, or if modes that train with the same number of torch threads disagree.
"""

import argparse
import datetime
import os
import platform
import shlex
import statistics
import sys
import time
import warnings

# Few optimisation steps is what this benchmark wants (a short, timed workload); the classifier's
# warning about it would be printed by every fit, in the workers too (they inherit the environment).
_QUIET = "ignore:CNNClassifier will take only"
os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), _QUIET]))
warnings.filterwarnings("ignore", message="CNNClassifier will take only")

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import torch  # noqa: E402
from _paths import append_table, parse_set  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_validate  # noqa: E402

from imbsk import CNNClassifier  # noqa: E402

MODES = ("serial", "serial-1t", "loky", "loky-cold", "threading", "dask")
#: Torch threads per fit in each mode, for the identity check (None: this process's count); a
#: classifier parameter ``n_threads`` given with ``--set`` overrides them all.
_FIT_THREADS = {"serial": None, "serial-1t": 1, "loky": 1, "loky-cold": 1, "threading": 1, "dask": 1}


def digits_images():
    """scikit-learn's digits as uint8 images of shape (1797, 1, 8, 8), 0..16 scaled to 0..255."""
    digits = load_digits()
    X = np.round(digits.images * (255 / 16)).astype(np.uint8)[:, None]
    return X, digits.target


def cpu_seconds():
    """CPU seconds (user + system) used so far by this process and each live descendant, by pid."""
    me = psutil.Process()
    out = {}
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            out[proc.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return out


def shutdown_loky():
    """Stop joblib's reusable loky worker pool (if any), so that the next ``n_jobs=2`` call starts it anew."""
    from joblib.externals.loky import reusable_executor

    executor = reusable_executor._executor
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=False)


def run(X, y, params, epochs, n_jobs, threads=None, context=None):
    """One ``cross_validate``; return (wall s, CPU s of this process and its descendants, per-fit s, scores)."""
    clf = CNNClassifier(module="simple_cnn", max_epochs=epochs, random_state=0, **params)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    saved = torch.get_num_threads()
    before = cpu_seconds()
    start = time.perf_counter()
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        if context is None:
            res = cross_validate(clf, X, y, cv=cv, scoring="balanced_accuracy", n_jobs=n_jobs, error_score="raise")
        else:
            with context:
                res = cross_validate(clf, X, y, cv=cv, scoring="balanced_accuracy", n_jobs=n_jobs,
                                     error_score="raise")
    finally:
        torch.set_num_threads(saved)
    wall = time.perf_counter() - start
    after = cpu_seconds()
    # Workers started during the call count from zero; none is stopped during one.
    cpu = sum(t - before.get(pid, 0.0) for pid, t in after.items())
    return wall, cpu, float(np.median(res["fit_time"])), res["test_score"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="max_epochs of every fit")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per mode (medians reported)")
    parser.add_argument("--modes", nargs="+", default=["serial", "serial-1t", "loky", "loky-cold"], choices=MODES)
    parser.add_argument("--set", nargs="*", default=[], help="extra CNNClassifier parameters, key=value")
    parser.add_argument("--output", default=None, help="append the table to this markdown file")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.repeats < 1:
        parser.error(f"--epochs and --repeats must be positive; got {args.epochs} and {args.repeats}")
    modes = list(dict.fromkeys(["serial", *args.modes]))  # serial is the reference of every ratio
    params = parse_set(args.set)

    X, y = digits_images()
    loads = [os.getloadavg()[0]]
    header = (
        f"machine: {platform.machine()} ({platform.processor() or 'cpu'}), {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads in this process, "
        f"python {platform.python_version()}; digits {X.shape} uint8, simple_cnn, {args.epochs} epochs"
        + (f", {params}" if params else "")
    )
    print(header, flush=True)
    print(f"load average at the start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)

    # Untimed: the first fit of a process imports torch._dynamo (torch.optim) and builds oneDNN kernels;
    # the first n_jobs=2 call starts the workers. The cold mode's first call is recorded on its own.
    run(X, y, params, args.epochs, 1)
    first_cold = None
    if "loky-cold" in modes:
        shutdown_loky()
        first_cold = run(X, y, params, args.epochs, 2)[0]
    else:
        run(X, y, params, args.epochs, 2)
    cluster = None
    contexts = {}
    if "threading" in modes:
        from joblib import parallel_config

        contexts["threading"] = lambda: parallel_config(backend="threading")
    if "dask" in modes:
        from imbsk.parallel import dask_backend, local_cluster

        cluster_cm = local_cluster(2, 1, host="127.0.0.1")
        cluster = cluster_cm.__enter__()
        contexts["dask"] = lambda: dask_backend(cluster)
        run(X, y, params, args.epochs, None, context=contexts["dask"]())

    times = {m: [] for m in modes}
    cpu = {m: [] for m in modes}
    fit = {m: [] for m in modes}
    scores = {}
    try:
        for rep in range(args.repeats):
            order = modes[rep % len(modes):] + modes[:rep % len(modes)]
            for mode in order:
                if mode == "loky-cold":
                    shutdown_loky()  # the pool it starts is warm for the next "loky" run
                n_jobs = 1 if mode.startswith("serial") else (None if mode == "dask" else 2)
                threads = 1 if mode in ("serial-1t", "threading") else None
                context = contexts[mode]() if mode in contexts else None
                wall, cpu_s, fit_s, test = run(X, y, params, args.epochs, n_jobs, threads, context)
                times[mode].append(wall)
                cpu[mode].append(cpu_s)
                fit[mode].append(fit_s)
                if mode in scores and mode != "threading" and not np.array_equal(scores[mode], test):
                    raise AssertionError(f"{mode}: scores differ between repeats: {scores[mode]} vs {test}")
                scores[mode] = test
            loads.append(os.getloadavg()[0])
            print(f"repeat {rep + 1}: " + ", ".join(f"{m} {times[m][-1]:.2f} s" for m in modes)
                  + f"; load {loads[-1]:.2f}", flush=True)
    finally:
        if cluster is not None:
            cluster_cm.__exit__(None, None, None)

    def same(a, b):
        return a in scores and b in scores and np.array_equal(scores[a], scores[b])

    def fit_threads(mode):
        return params.get("n_threads") or _FIT_THREADS[mode] or torch.get_num_threads()

    groups = {}
    for m in modes:
        if m != "threading":  # not reproducible, see the module docstring
            groups.setdefault(fit_threads(m), []).append(m)
    mismatches = [
        f"{m} and {members[0]} train with the same number of torch threads but their scores differ: "
        f"{scores[m]} vs {scores[members[0]]}"
        for members in groups.values() for m in members[1:] if not same(members[0], m)
    ]

    med = {m: statistics.median(t) for m, t in times.items()}
    lines = [
        "| mode | n_jobs | torch threads a fit | wall s (median) | vs serial | vs serial, paired | CPU s | "
        "fit s (median) | scores = serial | scores = serial-1t |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for m in modes:
        paired = statistics.median(s / t for s, t in zip(times["serial"], times[m]))
        lines.append(
            f"| {m} | {1 if m.startswith('serial') else 2} | {fit_threads(m)} | {med[m]:.2f} | "
            f"{med['serial'] / med[m]:.2f}x | {paired:.2f}x | {statistics.median(cpu[m]):.1f} | "
            f"{statistics.median(fit[m]):.2f} | {'yes' if same(m, 'serial') else 'no'} | "
            f"{'yes' if same(m, 'serial-1t') else ('-' if 'serial-1t' not in scores else 'no')} |"
        )
    raw = "; ".join(f"{m} " + "/".join(f"{t:.2f}" for t in times[m]) for m in modes)
    notes = [
        f"Raw wall times (s): {raw}.",
        f"Load average (1 min) at the start and after each repeat: {', '.join(f'{v:.2f}' for v in loads)}.",
        f"Mean test balanced accuracy: serial {np.mean(scores['serial']):.4f}"
        + (f", serial-1t {np.mean(scores['serial-1t']):.4f}" if "serial-1t" in scores else "") + ".",
    ]
    if first_cold is not None:
        notes.append(f"First n_jobs=2 call of the session (fresh pool, untimed warm-up): {first_cold:.2f} s.")
    print()
    print("\n".join(lines))
    print()
    print("\n".join(notes))

    if args.output:
        command = "python benchmarks/bench_parallel_cv.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        append_table(f"## {stamp}\n\nCommand: `{command}`\n\n{header}\n\n" + "\n".join(lines) + "\n\n"
                     + "\n".join(f"- {n}" for n in notes) + "\n", args.output)
        print(f"appended to {args.output}")
    if mismatches:
        sys.exit("\n".join(mismatches))


if __name__ == "__main__":
    main()
