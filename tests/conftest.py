import functools
import importlib.util
import inspect
import os

import pytest

# Two cores are shared by the whole suite; more intra-op threads than cores only adds contention.
os.environ.setdefault("OMP_NUM_THREADS", "2")

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None

if HAVE_MATPLOTLIB:
    import matplotlib

    matplotlib.use("Agg")


@functools.cache
def _function_source(function):
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def _source(item):
    """The code a test item runs: its function, or the examples of a doctest."""
    function = getattr(item, "function", None)
    if function is not None:
        return _function_source(function)
    dtest = getattr(item, "dtest", None)
    return "\n".join(example.source for example in dtest.examples) if dtest is not None else ""


def pytest_collection_modifyitems(config, items):
    """Mark the tests that touch CUDA, and skip the doctests that draw when matplotlib is missing.

    ``cuda``: every test whose code mentions CUDA (those that need a device, and those that check what
    happens without one), so that ``pytest -m cuda`` (what ``make gpu-check`` runs) finds them without a
    list to keep up to date. The doctests of :mod:`imbsk.plotting` need matplotlib, an optional extra;
    without it they are skipped rather than failed.
    """
    no_matplotlib = pytest.mark.skip(reason="needs matplotlib (the plot extra)")
    for item in items:
        source = _source(item)
        if "cuda" in source.lower():
            item.add_marker(pytest.mark.cuda)
        if not HAVE_MATPLOTLIB and getattr(item, "dtest", None) is not None and (
            "imbsk.plotting" in item.name or "matplotlib" in source or "plotting" in source
        ):
            item.add_marker(no_matplotlib)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tests on one torch thread, and put the caller's setting back after them.

    The networks of the tests are tiny: a second intra-op thread only adds synchronisation, and on a
    busy machine spinning threads slow them down by an order of magnitude.
    """
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
