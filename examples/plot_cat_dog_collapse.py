"""
Cat vs dog at 10:1: a plain CNN collapses, and four ways back
=============================================================

Train a small CNN on CIFAR-10 cats and dogs with the dogs cut to a tenth, and it learns to say "cat"
to everything: a high accuracy on the training distribution and a balanced accuracy of 0.5. This
example shows that collapse and four remedies that are a single parameter of
:class:`imbsk.CNNClassifier` each: class-balanced batches (``batch_balance="class"``), class weights
(``class_weight="balanced"``), the logit-adjusted loss (``loss="logit_adjusted"``) and post-hoc logit
adjustment of the plain network (``tau``).

To keep the docs build fast the example trains on a subset (1,000 cats, 100 dogs) at 16x16 pixels
(2x2 average pooling) for a few epochs, and scores on the official, balanced test images of both
classes. ``imbsk demo cifar --data PATH`` runs the full-size story.

The data is looked up in the folder named by the ``IMBSK_CIFAR`` environment variable, else in
``shared/data`` beside the project's checkout; any layout :func:`imbsk.datasets.load_cifar10` reads
will do; the decoded arrays are cached in ``IMBSK_CACHE`` (default ``~/.cache/imbsk``). Without it the
example runs on clearly labelled synthetic stand-in images.
"""

# %%
# Data: cats and dogs at 10:1
# ---------------------------
import copy
import os
from pathlib import Path

import joblib
import numpy as np
import torch
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score, confusion_matrix

from imbsk import CNNClassifier
from imbsk.datasets import downsample_images, load_cifar10, make_imbalance
from imbsk.plotting import plot_class_distribution, plot_confusion_matrices, plot_scores

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
print(f"{source}: {len(y)} training images ({np.bincount(y)} per class), {len(y_test)} balanced test images")
fig = plot_class_distribution(y, class_names=classes)
fig.axes[0].set_title(f"Training set ({source})")
fig.tight_layout()

# %%
# The plain network and its remedies
# ----------------------------------
# Every remedy is a clone of the same network with one parameter changed; the class priors they need
# are computed from the ``y`` given to ``fit``.
base = CNNClassifier(module__width=8, optimizer="adamw", lr=3e-3, batch_size=32, max_epochs=6, random_state=0)
models = {
    "none": clone(base),
    "balanced batches": clone(base).set_params(batch_balance="class"),
    "class weights": clone(base).set_params(class_weight="balanced"),
    "logit-adjusted loss": clone(base).set_params(loss="logit_adjusted"),
}
for model in models.values():
    model.fit(X, y)

# %%
# Post-hoc logit adjustment needs no retraining: ``tau`` subtracts ``tau * log(prior)`` from the
# plain network's logits at prediction time, moving the decision towards the rare class.
models["post-hoc logit adjustment"] = copy.deepcopy(models["none"]).set_params(tau=1.0)

scores, matrices = {}, {}
print(f"{'remedy':<26} {'balanced acc.':>13} {'predicted dog':>13}")
for name, model in models.items():
    pred = model.predict(X_test)
    scores[name] = balanced_accuracy_score(y_test, pred)
    matrices[name] = confusion_matrix(y_test, pred)
    print(f"{name:<26} {scores[name]:>13.3f} {np.mean(pred == 1):>13.1%}")

# %%
# Balanced accuracy on the test images
# ------------------------------------
# The dashed line is what "always cat" scores. The plain network sits on it.
fig = plot_scores(scores, xlabel="balanced accuracy (balanced test set)",
                  title=f"Cat vs dog at 10:1 ({source}, 16x16, 6 epochs)\nbalanced accuracy per remedy")

# %%
# Where the errors go
# -------------------
# Rows are the true class, normalised to recalls: the plain network never says "dog". Each frame has
# the remedy's colour in the bar chart above.
fig = plot_confusion_matrices(matrices, class_names=classes, max_cols=3,
                              title=f"Cat vs dog at 10:1 ({source})\nconfusion matrices on the test set")
