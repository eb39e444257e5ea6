"""Run grid searches and cross-validation of imbsk pipelines on a Dask cluster.

imbsk has no scheduler of its own: scikit-learn's ``GridSearchCV``, ``cross_validate`` and friends
dispatch their fits through joblib, and joblib's ``"dask"`` backend sends them to the workers of a
``distributed.Client``. :func:`dask_backend` is a thin context manager around
``joblib.parallel_config(backend="dask")`` that connects to the cluster, optionally sends large data
to every worker once, and turns a lost worker into a clear error. :func:`local_cluster` starts a
``distributed.LocalCluster`` configured for CNN fits on one machine (:data:`SMALL_MACHINE_CONFIG`).

Examples
--------
::

    from sklearn.model_selection import GridSearchCV
    from imbsk.parallel import dask_backend

    search = GridSearchCV(pipe, grid, scoring="balanced_accuracy", cv=5)
    with dask_backend("tcp://scheduler:8786"):
        search.fit(X, y)
"""

import asyncio
import concurrent.futures
import contextlib
import numbers
import os

__all__ = ["SMALL_MACHINE_CONFIG", "SUPPORTED_JOBLIB", "WorkerLostError", "dask_backend", "local_cluster"]

#: Dask configuration for clusters whose scheduler and workers share a few cores, and for CNN fits.
#:
#: - ``MALLOC_TRIM_THRESHOLD_`` is taken out of the variables the nanny gives its workers: with Dask's
#:   65536, glibc returns freed memory to the system at once and PyTorch pays page faults for every
#:   batch's activations again (tiny-image grid on 2 cores: 8.2 s with it, 5.6 s without).
#: - The workers' statistical profiler is off, and the system monitor, the memory monitor and the
#:   event-loop tick (a wake-up every 20 ms in the scheduler, the nannies, every worker and the client)
#:   run every 1-2 s: on a 2-core machine these wake-ups take CPU from the fits.
#:
#: Pass it to ``dask.config.set`` before the cluster (or ``dask worker``) starts and keep it set while
#: the cluster runs: the monitors read their intervals as they go. ``benchmarks/results/dask.md`` has
#: the measurements.
SMALL_MACHINE_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.tick.interval": "1s",
}

_INSTALL_HINT = 'the Dask backend needs dask.distributed; install it with  pip install "imbsk[dask]"'


class WorkerLostError(RuntimeError):
    """A Dask worker died while running fits, often enough that Dask gave up on the task.

    The parallel call that was running (a whole ``GridSearchCV.fit`` or ``cross_validate``) is aborted
    and returns no results; partial results are never reported as complete. The Dask exception
    (``distributed.KilledWorker``, or ``FutureCancelledError`` when the data a task needed was lost with
    its worker) is chained as ``__cause__``.
    """


class _ScatteredDataLost(RuntimeError):
    """Raised into pending fits when the scattered data no longer exists on any worker."""


#: joblib versions whose private ``DaskDistributedBackend`` has every method and attribute
#: :func:`dask_backend` overrides or reads (``retrieve_result_callback`` appeared in 1.4); the upper bound
#: is the next major version, which may change those internals.
SUPPORTED_JOBLIB = ((1, 4), (2,))


def _check_joblib_version():
    """Refuse a joblib whose Dask backend internals :func:`_make_backend` was not written against."""
    import joblib
    from packaging.version import InvalidVersion, Version

    (low, high), text = SUPPORTED_JOBLIB, joblib.__version__
    try:
        release = Version(text).release
    except InvalidVersion:
        release = None
    if release is None or not low <= release < high:
        raise ImportError(
            f"imbsk.parallel.dask_backend supports joblib >={'.'.join(map(str, low))},"
            f"<{'.'.join(map(str, high))} (it extends joblib's Dask backend, whose internals change between "
            f"versions); found joblib {text}. Install a supported version, e.g. "
            f"pip install \"joblib>={'.'.join(map(str, low))},<{'.'.join(map(str, high))}\"."
        )


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_INSTALL_HINT) from exc
    return distributed


class _Failure:
    """A fit's outcome that is an error raised outside the fit (by the scheduler), not by the fit."""

    def __init__(self, exc):
        self.exc = exc


def _make_backend(client, scatter, timeout, submit_kwargs):
    """joblib's Dask backend, changed in three points.

    First, it never reports a single job. joblib runs a parallel call in the calling process when the
    backend offers one job, and the Dask backend offers as many jobs as the cluster has worker
    threads. On a cluster with one thread (one GPU worker) or while a lost worker restarts, every fit
    would then run on the client machine, silently bypassing the cluster; with at least two jobs joblib
    always submits to the scheduler, which queues what does not fit.

    Second, errors raised by the scheduler rather than by a fit (``KilledWorker``) reach joblib. joblib
    1.6 stores them where its result-callback mode never looks, and the parallel call would wait
    forever.

    Third, when data was scattered (broadcast to every worker), the other arguments are no longer
    scattered to one worker each, so that a fit whose worker died can be re-run on another; and if
    the scattered data itself is lost (every worker holding it died), the waiting fits fail.
    """
    from joblib._dask import DaskDistributedBackend

    class _RemoteDaskBackend(DaskDistributedBackend):
        def effective_n_jobs(self, n_jobs):
            return max(2, super().effective_n_jobs(n_jobs))

        def get_nested_backend(self):
            return _RemoteDaskBackend(client=self.client), -1

        def start_call(self):
            super().start_call()
            if self.data_futures:
                # joblib scatters every other large argument (fold indices, ...) to a single worker; if
                # that worker dies the data is gone and the fit cannot be re-run. With the big data
                # broadcast, the rest is small enough to travel inside the task, which Dask can re-run.
                self.call_data_futures = None
                self.client.loop.add_callback(self._watch_scattered)

        def stop_call(self):
            if self.call_data_futures is None:
                self.call_data_futures = {}
            super().stop_call()

        def _deliver(self, future, result):
            cf_future = self._results.pop(future, None)
            callback = self._callbacks.pop(future, None)
            if cf_future is None or cf_future.done():
                return
            cf_future.set_result(result)
            callback(result)

        async def _collect(self):
            while self._continue:
                async for future, result in self.waiting_futures:
                    if future.status == "error":
                        result = _Failure(result[1])
                    self._deliver(future, result)
                await asyncio.sleep(0.01)

        async def _watch_scattered(self):
            while self._continue:
                lost = [f.key for f in self.data_futures.values() if f.status != "finished"]
                if lost:
                    for future in list(self._results):
                        self._deliver(future, _Failure(_ScatteredDataLost(lost)))
                    return
                await asyncio.sleep(0.1)

        def retrieve_result_callback(self, out):
            if isinstance(out, _Failure):
                raise out.exc
            return super().retrieve_result_callback(out)

    return _RemoteDaskBackend(client=client, scatter=scatter, wait_for_workers_timeout=timeout, **submit_kwargs)


@contextlib.contextmanager
def local_cluster(n_workers=2, threads_per_worker=1, config=None, **cluster_kwargs):
    """Context manager: a ``distributed.LocalCluster`` of worker processes on this machine.

    Differences from a plain ``LocalCluster``: ``config`` (by default :data:`SMALL_MACHINE_CONFIG`)
    stays set in Dask's configuration for the cluster's whole life, the dashboard is off (and the
    scheduler's health and metrics routes are served on a free port rather than 8787), and the
    calling process's ``os.environ`` is put back once the workers are up. (The Dask nanny writes its
    workers' variables, ``OMP_NUM_THREADS=1`` and ``MALLOC_TRIM_THRESHOLD_`` among them, into the
    environment of the process that starts it, where every process started later, such as joblib's
    loky workers, would inherit them.)

    Parameters
    ----------
    n_workers : int, default=2
        Worker processes.
    threads_per_worker : int, default=1
        Fits run at the same time in one worker; keep 1 for CNN fits, which parallelise inside.
    config : dict or None, default=None
        Dask configuration set while the cluster runs, on top of the current one; ``None`` means
        :data:`SMALL_MACHINE_CONFIG`, ``{}`` Dask's own configuration.
    **cluster_kwargs : dict
        Passed to ``distributed.LocalCluster`` (``host``, ``memory_limit``, ...).

    Yields
    ------
    cluster : distributed.LocalCluster
        Pass it to :func:`dask_backend`. It is closed when the block ends.

    Raises
    ------
    ImportError
        If ``dask.distributed`` is not installed.
    ValueError
        If ``n_workers`` or ``threads_per_worker`` is not a positive int, ``config`` not a dict, or
        ``processes`` is passed.

    Examples
    --------
    ::

        from imbsk.parallel import dask_backend, local_cluster
        with local_cluster(n_workers=2) as cluster, dask_backend(cluster):
            search.fit(X, y)
    """
    distributed = _import_distributed()
    import dask

    for name, value in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {name}={value!r}.")
    if config is not None and not isinstance(config, dict):
        raise ValueError(f"config must be a dict of Dask configuration keys or None; got {type(config).__name__}.")
    if "processes" in cluster_kwargs:
        raise ValueError(
            f"local_cluster always starts worker processes; got processes={cluster_kwargs['processes']!r}. "
            "For threads in this process use distributed.LocalCluster(processes=False) directly."
        )
    if cluster_kwargs.setdefault("dashboard_address", None) is None:
        # Without a dashboard the scheduler still serves its health and metrics routes, on Dask's fixed
        # port 8787 unless told otherwise; a free port keeps a second cluster on the machine (a user's
        # own, or another local_cluster) from clashing with it and warning.
        scheduler_kwargs = cluster_kwargs.get("scheduler_kwargs") or {}
        cluster_kwargs["scheduler_kwargs"] = {"dashboard_address": ":0", **scheduler_kwargs}
    saved = dict(os.environ)
    with dask.config.set(SMALL_MACHINE_CONFIG if config is None else config):
        try:
            cluster = distributed.LocalCluster(
                n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True, **cluster_kwargs
            )
        finally:
            os.environ.clear()
            os.environ.update(saved)
        with cluster:
            yield cluster


def _resolve_client(client, distributed, timeout, connect_timeout):
    """Return ``(client, owned)``; ``owned`` clients were opened here and are closed on exit."""
    if isinstance(client, distributed.Client):
        return client, False
    if client is None:
        try:
            return distributed.get_client(), False
        except ValueError:
            raise ValueError(
                "client must be a distributed.Client, a scheduler address or a cluster when no default Dask "
                "client exists; got None. Create one with distributed.Client(address) first."
            ) from None
    if isinstance(client, str):
        address = client
    elif isinstance(getattr(client, "scheduler_address", None), str):
        address = client.scheduler_address
    else:
        raise ValueError(
            "client must be a distributed.Client, a scheduler address such as 'tcp://10.0.0.1:8786', an object "
            f"with a scheduler_address (a LocalCluster) or None; got {client!r}."
        )
    _probe_scheduler(distributed, address, connect_timeout)
    # Not the process-wide default: leaving the block must leave no trace in the caller's session.
    return distributed.Client(address, timeout=timeout, set_as_default=False), True


def _probe_scheduler(distributed, address, connect_timeout):
    """Fail fast and clearly when nothing answers at ``address``.

    A ``Client`` uses one timeout for connecting, for scattering data and (doubled) for closing itself,
    so a short one cannot be given to it; and a ``Client`` that failed to connect still spends that
    closing time, with a traceback, when it is garbage-collected. One handshake with Dask's own
    ``connect`` (same security settings as the ``Client``), in a thread so that it also works where an
    event loop is already running (Jupyter), tells first whether a scheduler is there.
    """
    from distributed.comm import connect

    async def handshake():
        comm = await connect(
            address, timeout=connect_timeout, **distributed.Security().get_connection_args("client")
        )
        await comm.close()

    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(lambda: asyncio.run(handshake())).result()
    except ValueError as exc:  # malformed address: no port, unknown scheme
        raise ValueError(
            f"client={address!r} is not a Dask scheduler address such as 'tcp://10.0.0.1:8786' ({exc})."
        ) from exc
    except OSError as exc:  # Dask's "Timed out trying to connect": refused, unknown host, no answer
        raise ConnectionError(
            f"could not connect to the Dask scheduler at {address!r} within connect_timeout={connect_timeout} s; "
            "check the address and that the scheduler is running."
        ) from exc


@contextlib.contextmanager
def dask_backend(client=None, *, scatter=None, wait_for_workers_timeout=30, connect_timeout=5, **submit_kwargs):
    """Context manager: joblib-parallel fits in the block run on the workers of a Dask cluster.

    Inside the block every joblib-parallel call of scikit-learn / imbalanced-learn / imbsk
    (``GridSearchCV.fit``, ``cross_validate``, ``cross_val_score``, ...) is sent to the cluster. Leave
    the estimator's ``n_jobs`` at ``None`` or ``-1``; the search then uses every worker thread.

    Parameters
    ----------
    client : distributed.Client, str, cluster or None, default=None
        Where to run. A connected ``distributed.Client`` is used as is and stays open. A scheduler
        address (``"tcp://10.0.0.1:8786"``) or a cluster object with a ``scheduler_address`` (such as
        ``distributed.LocalCluster``) opens a client that is closed when the block ends. ``None`` uses
        the current default client.
    scatter : list or None, default=None
        Objects (typically ``[X, y]``) sent to every worker once, before any fit. Arguments of the fits
        that are these very objects travel as references instead of data. Without it joblib still sends
        each large argument once per parallel call; ``scatter`` saves the repeats across several calls
        in the block and sends the data before the first fit rather than with it.
    wait_for_workers_timeout : float, default=30
        Seconds to wait, once connected, for at least one worker before giving up; also the time limit
        of the client's own requests (scattering data, closing).
    connect_timeout : float, default=5
        Seconds to try to reach the scheduler at an address (``client`` a string or a cluster) before
        giving up with a :class:`ConnectionError`.
    **submit_kwargs : dict
        Passed to ``Client.submit`` for every batch of fits, e.g. ``resources={"GPU": 1}`` to run one
        fit at a time on each worker that declares a GPU resource.

    Yields
    ------
    client : distributed.Client
        The client in use.

    Raises
    ------
    ImportError
        If ``dask.distributed`` is not installed, or joblib's version is outside
        :data:`SUPPORTED_JOBLIB`.
    ValueError
        If ``client``, ``scatter``, ``wait_for_workers_timeout`` or ``connect_timeout`` is invalid.
    ConnectionError
        If the scheduler at the address cannot be reached within ``connect_timeout``.
    TimeoutError
        If no worker joined the scheduler within ``wait_for_workers_timeout``.
    WorkerLostError
        If a worker died while running fits more often than the scheduler's
        ``distributed.scheduler.allowed-failures`` (3 by default; until then Dask re-runs the task on
        another worker), or died holding the only copy of data a task needed (pass ``scatter`` to keep
        a copy on every worker). The parallel call is aborted with no results.

    Examples
    --------
    ::

        from distributed import LocalCluster
        with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, dask_backend(cluster):
            search.fit(X, y)
    """
    distributed = _import_distributed()
    _check_joblib_version()
    from joblib import parallel_config

    if scatter is not None and not isinstance(scatter, list | tuple):
        raise ValueError(f"scatter must be a list or tuple of objects or None; got {type(scatter).__name__}.")
    for name, value in (("wait_for_workers_timeout", wait_for_workers_timeout), ("connect_timeout", connect_timeout)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < float("inf"):
            raise ValueError(f"{name} must be a positive number of seconds; got {name}={value!r}.")
    timeout = wait_for_workers_timeout

    client, owned = _resolve_client(client, distributed, timeout, connect_timeout)
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no Dask worker joined the scheduler at {client.scheduler.address} within "
                f"wait_for_workers_timeout={timeout} s."
            ) from None
        backend = _make_backend(client, list(scatter) if scatter is not None else None, timeout, submit_kwargs)
        with parallel_config(backend=backend, n_jobs=-1):
            try:
                yield client
            except distributed.KilledWorker as exc:
                raise WorkerLostError(
                    f"a Dask worker died while running fits, and so did every retry of the task ({exc}). The "
                    "parallel call (e.g. the whole grid search) was aborted and returned no results. Dask "
                    "re-runs a task on another worker up to distributed.scheduler.allowed-failures times; see "
                    "the worker logs for why it died (often memory: lower the batch size or the threads per "
                    "worker)."
                ) from exc
            except _ScatteredDataLost as exc:
                raise WorkerLostError(
                    f"every Dask worker holding the scattered data died ({exc}); the data cannot be recovered. "
                    "The parallel call (e.g. the whole grid search) was aborted and returned no results."
                ) from exc
            except distributed.client.FutureCancelledError as exc:
                hint = "" if scatter else (
                    " Pass scatter=[X, y] to dask_backend so that every worker holds a copy of the data and Dask "
                    "can re-run the fits of a lost worker elsewhere."
                )
                raise WorkerLostError(
                    f"a Dask task of the parallel call was cancelled ({exc}), most often because the workers "
                    "holding its input data died. The parallel call (e.g. the whole grid search) was aborted "
                    "and returned no results." + hint
                ) from exc
    finally:
        if owned:
            client.close()
