"""Grid searches on a real Dask LocalCluster (two worker processes) through imbsk.parallel.dask_backend."""

import os
import signal
import sys
import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="needs the 'dask' extra: pip install 'imbsk[dask]'")

import cloudpickle  # noqa: E402
import dask  # noqa: E402
from imblearn import FunctionSampler  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

from imbsk.datasets import make_toy_2d  # noqa: E402
from imbsk.metrics import BALANCED_SCORING  # noqa: E402
from imbsk.parallel import (  # noqa: E402
    SMALL_MACHINE_CONFIG,
    WorkerLostError,
    _ScatteredDataLost,
    dask_backend,
    local_cluster,
)
from imbsk.pipeline import make_pipeline  # noqa: E402
from imbsk.sampling import RandomOverSampler  # noqa: E402

# Workers unpickle the helper functions below; they are sent by value so that the workers need not
# import this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

RATIOS = [0.2, 0.4, 0.6, 0.8, 1.0]


def _kill_own_worker(X, y, marker=None):
    """Identity sampler that kills the Dask worker process running it (once per marker file).

    Never kills a process that is not a Dask worker, so a fit that runs in the test process is safe.
    """
    try:
        distributed.get_worker()
    except ValueError:
        return X, y
    if marker is None or not os.path.exists(marker):
        if marker is not None:
            open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return X, y


def _oversample_nd(X, y, ratio=1.0, seed=0):
    """Random oversampling of the minority class for N-D X (images), up to ``ratio`` times the majority."""
    rng = np.random.RandomState(seed)
    counts = np.bincount(y)
    minority, majority = counts.argmin(), counts.max()
    extra = max(int(round(ratio * majority)) - counts[minority], 0)
    idx = np.r_[np.arange(len(y)), rng.choice(np.flatnonzero(y == minority), extra)]
    return X[idx], y[idx]


@pytest.fixture(scope="module")
def cluster():
    # One death of a worker is retried; a second of the same task fails it, which keeps the failure
    # test short. local_cluster puts back this process's environment, into which the nannies write
    # their workers' variables, so that processes the other tests start do not inherit them.
    config = dict(SMALL_MACHINE_CONFIG, **{"distributed.scheduler.allowed-failures": 1})
    with local_cluster(n_workers=2, threads_per_worker=1, config=config, host="127.0.0.1") as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as client:
        # A test that killed a worker leaves the nanny restarting it; start every test with both.
        client.wait_for_workers(2, timeout=60)
        yield client


@pytest.fixture(scope="module")
def toy():
    X, y = make_toy_2d("overlapping", n_samples=300, imbalance_ratio=10, random_state=0)
    pipe = make_pipeline(RandomOverSampler(random_state=0), KNeighborsClassifier(n_neighbors=7))
    grid = {"randomoversampler__sampling_strategy": RATIOS}
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    serial = GridSearchCV(pipe, grid, cv=cv, scoring="balanced_accuracy").fit(X, y)
    return X, y, pipe, grid, cv, serial


def assert_same_cv_results(result, reference):
    """Every score, rank and searched parameter equal; only the timings may differ."""
    keys = [k for k in reference if "time" not in k and not k.startswith(("params", "param_functionsampler"))]
    assert keys, "nothing to compare"
    for key in keys:
        np.testing.assert_array_equal(np.asarray(result[key]), np.asarray(reference[key]), err_msg=key)


@pytest.mark.parametrize("scatter", [False, True], ids=["auto", "scatter"])
def test_toy_grid_search_equals_serial(client, toy, scatter):
    X, y, pipe, grid, cv, serial = toy
    search = GridSearchCV(pipe, grid, cv=cv, scoring="balanced_accuracy")
    with distributed.get_task_stream(client) as tasks, dask_backend(client, scatter=[X, y] if scatter else None):
        search.fit(X, y)
    assert len(tasks.data) > 0, "no fit ran on the cluster"
    assert_same_cv_results(search.cv_results_, serial.cv_results_)
    assert search.cv_results_["params"] == serial.cv_results_["params"]
    assert search.best_params_ == serial.best_params_


def test_cross_validate_equals_serial_and_address_client_closes(cluster, client, toy):
    X, y, pipe, _, cv, _ = toy
    reference = cross_validate(pipe, X, y, cv=cv, scoring=BALANCED_SCORING)
    with dask_backend(cluster.scheduler_address) as own:
        assert own is not client
        result = cross_validate(pipe, X, y, cv=cv, scoring=BALANCED_SCORING)
    assert own.status == "closed"
    assert_same_cv_results(result, reference)


def test_tiny_image_grid_search_equals_serial(client):
    try:
        from imbsk.classifier import CNNClassifier
    except ImportError as exc:
        pytest.skip(f"imbsk.classifier.CNNClassifier is not available yet ({exc})")
    import torch

    rng = np.random.RandomState(0)
    y = np.r_[np.zeros(60, dtype=np.int64), np.ones(12, dtype=np.int64)]
    X = rng.randint(0, 200, size=(72, 3, 8, 8)).astype(np.uint8)
    X[y == 1, 0] += 50  # a learnable minority signal in the first channel
    pipe = make_pipeline(
        FunctionSampler(func=_oversample_nd, validate=False),
        CNNClassifier("simple_cnn", module__width=4, max_epochs=1, batch_size=32, random_state=0),
    )
    grid = {"functionsampler__kw_args": [{"ratio": 0.5}, {"ratio": 1.0}]}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    # Dask's worker processes run torch on one thread; so does the serial reference, so that both sum
    # in the same order and the comparison can be exact.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        serial = GridSearchCV(pipe, grid, cv=cv, scoring="balanced_accuracy", refit=False).fit(X, y)
    finally:
        torch.set_num_threads(threads)
    search = GridSearchCV(pipe, grid, cv=cv, scoring="balanced_accuracy", refit=False)
    with dask_backend(client, scatter=[X, y]):
        search.fit(X, y)
    assert_same_cv_results(search.cv_results_, serial.cv_results_)


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"client": 42}, "client"),
        ({"client": None}, "client"),
        ({"client": "tcp://127.0.0.1:1", "scatter": "X"}, "scatter"),
        ({"client": "tcp://127.0.0.1:1", "wait_for_workers_timeout": 0}, "wait_for_workers_timeout"),
        ({"client": "tcp://127.0.0.1:1", "connect_timeout": float("nan")}, "connect_timeout"),
    ],
)
def test_bad_arguments(kwargs, param):
    # Outside any Client context, so client=None has no default client to fall back on.
    with pytest.raises(ValueError, match=rf"^{param} must .*got"):
        with dask_backend(**kwargs):
            pass


def test_killed_worker_is_retried_with_scattered_data(client, toy, tmp_path):
    X, y, pipe, grid, cv, serial = toy
    marker = tmp_path / "killed"
    killing = make_pipeline(FunctionSampler(func=_kill_own_worker, kw_args={"marker": str(marker)}, validate=False),
                            *[step for _, step in pipe.steps])
    search = GridSearchCV(killing, grid, cv=cv, scoring="balanced_accuracy")
    with dask_backend(client, scatter=[X, y]):
        search.fit(X, y)
    assert marker.exists(), "no worker was killed"
    assert_same_cv_results(search.cv_results_, serial.cv_results_)


def _set_allowed_failures(dask_scheduler, n):
    dask_scheduler.allowed_failures = n


@pytest.mark.parametrize("scatter", [False, True], ids=["auto", "scatter"])
def test_worker_killed_mid_search_fails_clearly(client, toy, scatter):
    X, y, pipe, grid, cv, _ = toy
    killing = make_pipeline(FunctionSampler(func=_kill_own_worker, validate=False), *[step for _, step in pipe.steps])
    search = GridSearchCV(killing, grid, cv=cv, scoring="balanced_accuracy")
    # Dask re-runs a task until allowed-failures is exceeded; give up at the first death to keep the
    # test short.
    client.run_on_scheduler(_set_allowed_failures, n=0)
    try:
        with pytest.raises(WorkerLostError, match="aborted and returned no results") as info:
            with dask_backend(client, scatter=[X, y] if scatter else None):
                search.fit(X, y)
    finally:
        client.run_on_scheduler(_set_allowed_failures, n=1)
    # KilledWorker when Dask gave up on a task; a cancelled task or lost data when the workers died
    # holding the only copies of its inputs (which of them comes first depends on timing).
    assert isinstance(info.value.__cause__, distributed.KilledWorker | distributed.client.FutureCancelledError
                      | _ScatteredDataLost)
    # No partial results are left behind as if the search had completed.
    assert not hasattr(search, "cv_results_")
    assert not hasattr(search, "best_estimator_")


def _worker_settings():
    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), dask.config.get("distributed.worker.profile.enabled")


# Dask's own defaults, spelled out: the module's cluster keeps SMALL_MACHINE_CONFIG set while it runs,
# and ``config`` applies on top of the current configuration.
DASK_DEFAULTS = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 65536,
                 "distributed.worker.profile.enabled": True}


@pytest.mark.parametrize("config, trim, profile", [(None, None, False), (DASK_DEFAULTS, "65536", True)],
                         ids=["small-machine", "dask-defaults"])
def test_local_cluster_configures_workers_and_restores_environment(config, trim, profile, cluster):
    # The module's ``cluster`` runs beside this one: the two must not fight over Dask's fixed port 8787.
    before = dict(os.environ)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with local_cluster(n_workers=2, config=config, host="127.0.0.1") as mine:
            # The nanny writes its workers' variables into this process's environment; none may stay.
            assert dict(os.environ) == before
            assert not [w for w in caught if "already in use" in str(w.message)], [str(w.message) for w in caught]
            assert mine.scheduler.http_server.port not in (8787, cluster.scheduler.http_server.port)
            with distributed.Client(mine) as client:
                client.wait_for_workers(2, timeout=60)
                settings = client.run(_worker_settings)
                assert len(settings) == 2
                assert all(s == (trim, profile) for s in settings.values()), settings
                if config is None:
                    # Kept for the cluster's life: the monitors read their intervals as they run.
                    assert dask.config.get("distributed.admin.tick.interval") == SMALL_MACHINE_CONFIG[
                        "distributed.admin.tick.interval"]
    assert mine.status.name == "closed"
    assert dict(os.environ) == before


@pytest.mark.parametrize(
    "kwargs, param",
    [({"n_workers": 0}, "n_workers"), ({"threads_per_worker": 1.5}, "threads_per_worker"),
     ({"config": [("a", 1)]}, "config"), ({"processes": False}, "processes")],
)
def test_local_cluster_bad_arguments(kwargs, param):
    with pytest.raises(ValueError, match=param):
        with local_cluster(**kwargs):
            pass


def _closed_port():
    import socket

    with socket.socket() as s:  # nothing listens on it once the socket is closed
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_malformed_address_names_the_parameter():
    with pytest.raises(ValueError, match=r"^client='127\.0\.0\.1' is not a Dask scheduler address .*missing port"):
        with dask_backend("127.0.0.1"):
            pass


def test_unreachable_scheduler_fails_fast_and_clearly():
    import time

    address = f"tcp://127.0.0.1:{_closed_port()}"
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=rf"^could not connect to the Dask scheduler at '{address}' within "
                                              r"connect_timeout=0.5 s"):
        with dask_backend(address, connect_timeout=0.5):
            pass
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("version", ["1.3.2", "2.0.0", "0.17.0", "not-a-version"])
def test_joblib_outside_the_supported_range_is_refused(monkeypatch, version):
    import joblib

    monkeypatch.setattr(joblib, "__version__", version)
    # Refused before any connection is tried: the address has nothing listening.
    with pytest.raises(ImportError, match=rf"supports joblib >=1\.4,<2 .*found joblib {version}"):
        with dask_backend(f"tcp://127.0.0.1:{_closed_port()}", connect_timeout=60):
            pass


@pytest.mark.parametrize("version", ["1.4.0", "1.6.0", "1.9.dev0"])
def test_joblib_in_the_supported_range_is_accepted(monkeypatch, version):
    import joblib

    from imbsk.parallel import _check_joblib_version

    monkeypatch.setattr(joblib, "__version__", version)
    _check_joblib_version()
