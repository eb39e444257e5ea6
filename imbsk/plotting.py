"""Figures for imbalanced-learning experiments (needs the ``plot`` extra: matplotlib).

matplotlib is imported lazily so that the rest of imbsk works without it; every function returns the
matplotlib ``Figure`` it drew so that callers can save or restyle it.
"""

import numpy as np

__all__ = []


def _pyplot():
    """Import ``matplotlib.pyplot`` with a non-interactive backend, or say how to install it."""
    try:
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "imbsk.plotting needs matplotlib; install it with `pip install imbsk[plot]`."
        ) from exc
    return plt


def _as_hwc_images(X):
    """(N, C, H, W) uint8/float images -> (N, H, W, C) or (N, H, W) for imshow."""
    X = np.asarray(X)
    if X.ndim != 4:
        raise ValueError(f"X must be images of shape (N, C, H, W); got shape {X.shape}.")
    X = np.moveaxis(X, 1, -1)
    return X[..., 0] if X.shape[-1] == 1 else X
