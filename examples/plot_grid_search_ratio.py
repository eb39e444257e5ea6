"""
Grid search over the sampling ratio
===================================

How far should the rare class be over-sampled? Because imbsk's samplers and
:class:`imbsk.CNNClassifier` are scikit-learn estimators, the ratio is one more hyper-parameter:
put the sampler and the network in an imbalanced-learn pipeline and let
:class:`~sklearn.model_selection.GridSearchCV` choose ``sampling_strategy`` by cross-validated
balanced accuracy. The sampler acts during ``fit`` only, so each validation fold keeps its natural
10:1 imbalance and the scores stay honest.

CIFAR-10 cats vs dogs at 10:1 on a small 16x16 subset (see
:ref:`sphx_glr_auto_examples_plot_cat_dog_collapse.py` for the data lookup; without the data it runs
on labelled synthetic stand-in images).
"""

# %%
# Data
# ----
import os
from pathlib import Path

import joblib
import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from imbsk import CNNClassifier
from imbsk.datasets import downsample_images, load_cifar10, make_imbalance
from imbsk.pipeline import make_pipeline
from imbsk.plotting import plot_search_results
from imbsk.sampling import RandomOverSampler

# The networks are tiny: more threads would add overhead, not speed.
torch.set_num_threads(1)

here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
root = Path(os.environ.get("IMBSK_CIFAR", here.parent.parent / "shared" / "data"))
classes = ["cat", "dog"]
# Decoding the JPEG copy of CIFAR-10 takes several seconds; the arrays are cached for the next run.
load = joblib.Memory(os.environ.get("IMBSK_CACHE", Path.home() / ".cache" / "imbsk"), verbose=0).cache(load_cifar10)



def synthetic_images(n_per_class, seed):
    """Stand-in 16x16 images: a faint per-class pattern under noise, of varying strength per image."""
    rng = np.random.default_rng(seed)
    templates = np.random.default_rng(0).normal(size=(2, 3, 4, 4)).repeat(4, axis=2).repeat(4, axis=3)
    y = np.repeat([0, 1], n_per_class)
    strength = rng.uniform(0, 1, size=(len(y), 1, 1, 1))
    X = 128 + 40 * strength * templates[y] + 40 * rng.normal(size=(len(y), 3, 16, 16))
    return np.clip(X, 0, 255).astype(np.uint8), y


try:
    X, y = load(root, "train", classes=classes)
    X_test, y_test = load(root, "test", classes=classes)
    X, X_test = downsample_images(X, 16), downsample_images(X_test, 16)
    source = "CIFAR-10"
except FileNotFoundError:
    print(f"No CIFAR-10 data in {root}: using SYNTHETIC stand-in images; the numbers below are not "
          "CIFAR's. Set IMBSK_CIFAR to a folder with cifar-10-batches-py/, cifar-10-python.tar.gz or "
          "cifar10-jpeg/ (load_cifar10(PATH, download=True) fetches the official archive).")
    X, y = synthetic_images(2000, seed=1)
    X_test, y_test = synthetic_images(1000, seed=2)
    source = "synthetic stand-in"

X, y = make_imbalance(X, y, sampling_strategy={0: 1000, 1: 100}, random_state=0)

# %%
# The search
# ----------
# ``sampling_strategy`` is the dog:cat ratio after re-sampling (the data itself is at 0.1). The
# parameter is reached through the pipeline's step name, ``randomoversampler__``.
pipe = make_pipeline(
    RandomOverSampler(random_state=0),
    CNNClassifier(module__width=8, optimizer="adamw", lr=3e-3, batch_size=32, max_epochs=4, random_state=0),
)
ratios = [0.25, 0.5, 1.0]
search = GridSearchCV(
    pipe,
    {"randomoversampler__sampling_strategy": ratios},
    scoring="balanced_accuracy",
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
)
search.fit(X, y)

mean = search.cv_results_["mean_test_score"]
std = search.cv_results_["std_test_score"]
for ratio, m, s in zip(ratios, mean, std):
    print(f"ratio {ratio:<4}  cross-validated balanced accuracy {m:.3f} +- {s:.3f}")
best = search.best_params_["randomoversampler__sampling_strategy"]
test_score = balanced_accuracy_score(y_test, search.predict(X_test))
print(f"best ratio {best}; refitted on all training images: balanced accuracy {test_score:.3f} on the test set")

# %%
# Balanced accuracy against the ratio
# -----------------------------------
# :func:`imbsk.plotting.plot_search_results` reads the search's ``cv_results_``; the ratios, spaced
# evenly on a log scale, sit on a log axis with one plain label each.
fig = plot_search_results(
    search, "randomoversampler__sampling_strategy", chance=0.5,
    xlabel="dog:cat ratio after over-sampling (data: 0.1)", ylabel="balanced accuracy (3-fold CV)",
    title=f"Over-sampling ratio, cat vs dog at 10:1 ({source})",
)
