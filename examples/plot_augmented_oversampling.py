"""
Over-sampling with augmented copies
===================================

Repeating the rare class's images (random or replicate over-sampling) balances the classes, but a
network soon memorises the copies. :class:`imbsk.sampling.AugmentedOverSampler` adds *augmented*
copies instead — flipped, rotated, sheared, zoomed, colour-jittered, blurred or sharpened — so that
each new sample is a new image. Inside an imbalanced-learn pipeline it acts during ``fit`` only.

The example looks at what the augmentations do, then compares no re-sampling, whole copies
(:class:`imbsk.sampling.ReplicateOverSampler`) and augmented copies on CIFAR-10 cats vs dogs at 10:1,
on a small 16x16 subset (see :ref:`sphx_glr_auto_examples_plot_cat_dog_collapse.py` for the data
lookup; without the data it runs on labelled synthetic stand-in images).
"""

# %%
# Data
# ----
import os
from pathlib import Path

import joblib
import numpy as np
import torch
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score

from imbsk import CNNClassifier
from imbsk.datasets import downsample_images, load_cifar10, make_imbalance
from imbsk.pipeline import make_pipeline
from imbsk.plotting import plot_augmented_grid, plot_scores
from imbsk.sampling import AugmentedOverSampler, ReplicateOverSampler

# The networks are tiny: more threads would add overhead, not speed.
torch.set_num_threads(1)

here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
root = Path(os.environ.get("IMBSK_CIFAR", here.parent.parent / "shared" / "data"))
classes = ["cat", "dog"]
# Decoding the JPEG copy of CIFAR-10 takes several seconds; the arrays are cached for the next run.
load = joblib.Memory(os.environ.get("IMBSK_CACHE", Path.home() / ".cache" / "imbsk"), verbose=0).cache(load_cifar10)



def synthetic_images(n_per_class, seed, size=16):
    """Stand-in images: a faint per-class pattern under noise, of varying strength per image."""
    rng = np.random.default_rng(seed)
    cell = size // 4
    templates = np.random.default_rng(0).normal(size=(2, 3, 4, 4)).repeat(cell, axis=2).repeat(cell, axis=3)
    y = np.repeat([0, 1], n_per_class)
    strength = rng.uniform(0, 1, size=(len(y), 1, 1, 1))
    X = 128 + 40 * strength * templates[y] + 40 * rng.normal(size=(len(y), 3, size, size))
    return np.clip(X, 0, 255).astype(np.uint8), y


try:
    X_full, y = load(root, "train", classes=classes)
    X_test, y_test = load(root, "test", classes=classes)
    source = "CIFAR-10"
except FileNotFoundError:
    print(f"No CIFAR-10 data in {root}: using SYNTHETIC stand-in images; the numbers below are not "
          "CIFAR's. Set IMBSK_CIFAR to a folder with cifar-10-batches-py/, cifar-10-python.tar.gz or "
          "cifar10-jpeg/ (load_cifar10(PATH, download=True) fetches the official archive).")
    X_full, y = synthetic_images(2000, seed=1, size=32)
    X_test, y_test = synthetic_images(1000, seed=2, size=32)
    source = "synthetic stand-in"

# %%
# What an augmented copy looks like
# ---------------------------------
# Originals on the left, five augmented copies of each beside them: the ``"default"`` preset of
# :func:`imbsk.augment.default_augmentation`, at full resolution.
dogs = X_full[y == 1]
fig = plot_augmented_grid(dogs, "default", n_images=6, n_copies=5, random_state=0)
fig.suptitle(f'Dogs ({source}), preset "default"')
fig.tight_layout()

# %%
# The ``"channels"`` preset makes single-channel copies and blurred or sharpened ones instead.
fig = plot_augmented_grid(dogs, "channels", n_images=3, n_copies=5, random_state=0)
fig.suptitle(f'Dogs ({source}), preset "channels"')
fig.tight_layout()

# %%
# Three pipelines, one network
# ----------------------------
# 1,000 cats and 100 dogs at 16x16 pixels. Both samplers bring the dogs up to the cats' number.
X, y = make_imbalance(downsample_images(X_full, 16), y, sampling_strategy={0: 1000, 1: 100}, random_state=0)
X_test = downsample_images(X_test, 16)
net = CNNClassifier(module__width=8, optimizer="adamw", lr=3e-3, batch_size=32, max_epochs=4, random_state=0)
pipelines = {
    "none": clone(net),
    "replicate over-sampling": make_pipeline(ReplicateOverSampler(), clone(net)),
    "augmented over-sampling": make_pipeline(AugmentedOverSampler(random_state=0), clone(net)),
}
scores = {}
for name, pipe in pipelines.items():
    pipe.fit(X, y)
    scores[name] = balanced_accuracy_score(y_test, pipe.predict(X_test))
    print(f"{name:<24} balanced accuracy {scores[name]:.3f}")

# %%
# The sampler's work is visible on the fitted pipeline: the network saw as many dogs as cats. With
# only four epochs on a small subset, which kind of copy wins varies from run to run; the remedies
# are compared at full size by ``imbsk demo cifar``.
sampler = pipelines["augmented over-sampling"][0]
print("copies added per class:", {int(k): int(v) for k, v in sampler.sampling_strategy_.items()})

fig = plot_scores(scores, xlabel="balanced accuracy (balanced test set)",
                  title=f"Cat vs dog at 10:1 ({source}, 16x16, 4 epochs)\nbalanced accuracy per sampler")
