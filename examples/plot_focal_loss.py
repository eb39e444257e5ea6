"""
Focal loss on airplane vs automobile
====================================

The focal loss (Lin et al., 2017) multiplies each sample's cross-entropy by ``(1 - p_t) ** gamma``,
where ``p_t`` is the predicted probability of its true class: samples the network already gets right
(most of them from the majority class) weigh almost nothing, and training concentrates on the hard
ones. In :class:`imbsk.CNNClassifier` it is ``loss="focal"`` with ``criterion__gamma``; the
class-balanced focal loss of Cui et al. (2019), ``loss="class_balanced"``, adds weights from the
effective number of samples per class.

The task is CIFAR-10 airplanes vs automobiles with the automobiles cut to a tenth, on a small 16x16
subset (see :ref:`sphx_glr_auto_examples_plot_cat_dog_collapse.py` for the data lookup; without the
data it runs on labelled synthetic stand-in images).
"""

# %%
# The loss against the probability of the true class
# ---------------------------------------------------
import os
from pathlib import Path

import joblib
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score, recall_score

from imbsk import CNNClassifier
from imbsk.datasets import downsample_images, load_cifar10, make_imbalance
from imbsk.losses import FocalLoss
from imbsk.plotting import plot_scores

# The networks are tiny: more threads would add overhead, not speed.
torch.set_num_threads(1)

p = torch.linspace(0.01, 0.99, 99)
# Two-class logits whose softmax gives probability p to class 0, the true class of every sample.
logits = torch.stack([torch.log(p), torch.log(1 - p)], dim=1)
target = torch.zeros(len(p), dtype=torch.long)
fig, ax = plt.subplots(figsize=(6, 4))
for gamma in (0, 0.5, 1, 2, 5):
    loss = FocalLoss(gamma=gamma, reduction="none")(logits, target)
    ax.plot(p, loss, label=f"gamma = {gamma}" + (" (cross-entropy)" if gamma == 0 else ""))
ax.set(xlabel="probability of the true class", ylabel="loss", ylim=(0, 4), title="Focal loss")
ax.legend()
fig.tight_layout()

# %%
# Data: airplanes and automobiles at 10:1
# ---------------------------------------
here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
root = Path(os.environ.get("IMBSK_CIFAR", here.parent.parent / "shared" / "data"))
classes = ["airplane", "automobile"]
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
print(f"{source}: {np.bincount(y)} training images per class, {len(y_test)} balanced test images")

# %%
# Cross-entropy, focal and class-balanced focal loss
# --------------------------------------------------
base = CNNClassifier(module__width=8, optimizer="adamw", lr=3e-3, batch_size=32, max_epochs=8, random_state=0)
models = {
    "cross-entropy": clone(base),
    "focal loss (gamma=2)": clone(base).set_params(loss="focal", criterion__gamma=2.0),
    "focal + class weights": clone(base).set_params(loss="focal", class_weight="balanced"),
    "class-balanced loss (focal)": clone(base).set_params(loss="class_balanced", criterion__gamma=2.0,
                                                          criterion__beta=0.9999),
}
scores = {}
print(f"{'loss':<28} {'balanced acc.':>13} {'automobile recall':>17}")
for name, model in models.items():
    pred = model.fit(X, y).predict(X_test)
    scores[name] = balanced_accuracy_score(y_test, pred)
    print(f"{name:<28} {scores[name]:>13.3f} {recall_score(y_test, pred):>17.3f}")

fig = plot_scores(scores, xlabel="balanced accuracy (balanced test set)",
                  title=f"Airplane vs automobile at 10:1 ({source}, 16x16)\nbalanced accuracy per loss")

# %%
# The focal loss by itself re-weights easy against hard samples, not one class against the other, so
# its help for the rare class is indirect: early in training the rare class's samples are not yet the
# hard ones. Class weights — inverse frequency with ``class_weight="balanced"``, or the effective
# number of samples in the class-balanced loss — target the imbalance directly.
