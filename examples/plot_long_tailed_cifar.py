"""
Long-tailed CIFAR-10
====================

In CIFAR-10-LT (Cao et al., 2019) the ten classes shrink exponentially, from the largest "head"
class to a "tail" class ``imbalance_ratio`` times smaller. :func:`imbsk.datasets.make_long_tailed`
makes that profile from any labelled set. A plain network does well on the head and poorly on the
tail; the balanced softmax loss (``loss="balanced_softmax"`` of :class:`imbsk.CNNClassifier`), which
adds the log prior to the logits during training, evens that out.

To stay within a docs build, this example draws everything from the 10,000 official *test* images
at 16x16 pixels: 300 per class are held out as a balanced evaluation set and the rest become a
long-tailed training set at ratio 20. ``imbsk demo cifar --data PATH --long-tailed 100`` runs the
real CIFAR-10-LT, built from the training images. See
:ref:`sphx_glr_auto_examples_plot_cat_dog_collapse.py` for the data lookup; without the data the
example runs on labelled synthetic stand-in images.
"""

# %%
# A long-tailed training set
# --------------------------
import os
from pathlib import Path

import joblib
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, recall_score
from sklearn.model_selection import train_test_split

from imbsk import CNNClassifier
from imbsk.datasets import CIFAR10_CLASSES, downsample_images, load_cifar10, make_long_tailed
from imbsk.plotting import plot_class_distribution, plot_confusion_matrices, remedy_color

# The networks are tiny: more threads would add overhead, not speed.
torch.set_num_threads(1)

here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
root = Path(os.environ.get("IMBSK_CIFAR", here.parent.parent / "shared" / "data"))
# Decoding the JPEG copy of CIFAR-10 takes several seconds; the arrays are cached for the next run.
load = joblib.Memory(os.environ.get("IMBSK_CACHE", Path.home() / ".cache" / "imbsk"), verbose=0).cache(load_cifar10)



def synthetic_images(n_per_class, n_classes, seed):
    """Stand-in 16x16 images: a faint per-class pattern under noise, of varying strength per image."""
    rng = np.random.default_rng(seed)
    templates = np.random.default_rng(0).normal(size=(n_classes, 3, 4, 4)).repeat(4, axis=2).repeat(4, axis=3)
    y = np.repeat(np.arange(n_classes), n_per_class)
    strength = rng.uniform(0, 1, size=(len(y), 1, 1, 1))
    X = 128 + 40 * strength * templates[y] + 40 * rng.normal(size=(len(y), 3, 16, 16))
    return np.clip(X, 0, 255).astype(np.uint8), y


try:
    X, y = load(root, "test")
    X = downsample_images(X, 16)
    source = "CIFAR-10"
except FileNotFoundError:
    print(f"No CIFAR-10 data in {root}: using SYNTHETIC stand-in images; the numbers below are not "
          "CIFAR's. Set IMBSK_CIFAR to a folder with cifar-10-batches-py/, cifar-10-python.tar.gz or "
          "cifar10-jpeg/ (load_cifar10(PATH, download=True) fetches the official archive).")
    X, y = synthetic_images(1000, 10, seed=1)
    source = "synthetic stand-in"

X_pool, X_eval, y_pool, y_eval = train_test_split(X, y, test_size=3000, stratify=y, random_state=0)
X_lt, y_lt = make_long_tailed(X_pool, y_pool, imbalance_ratio=20, random_state=0)
print(f"{source}: {len(y_lt)} long-tailed training images, per class {np.bincount(y_lt).tolist()}; "
      f"{len(y_eval)} balanced evaluation images")
fig = plot_class_distribution(y_lt, class_names=CIFAR10_CLASSES, log=True)
fig.axes[0].set_title(f"Long-tailed training set, ratio 20 ({source})")
fig.tight_layout()

# %%
# Plain cross-entropy against the balanced softmax loss
# -----------------------------------------------------
base = CNNClassifier(module__width=8, optimizer="adamw", lr=3e-3, batch_size=32, max_epochs=6, random_state=0)
models = {"cross-entropy": clone(base), "balanced softmax": clone(base).set_params(loss="balanced_softmax")}
recalls, matrices = {}, {}
for name, model in models.items():
    pred = model.fit(X_lt, y_lt).predict(X_eval)
    recalls[name] = recall_score(y_eval, pred, average=None)
    matrices[name] = confusion_matrix(y_eval, pred)
    print(f"{name:<17} balanced accuracy {balanced_accuracy_score(y_eval, pred):.3f}  "
          f"head-class recall {recalls[name][0]:.3f}  tail-class recall {recalls[name][-1]:.3f}")

# %%
# Recall per class, from head to tail
# -----------------------------------
# The plain network trades the tail for the head; the balanced softmax gives up a little on the head
# for much more on the tail.
fig, ax = plt.subplots(figsize=(7, 4))
for (name, recall), marker, ls in zip(recalls.items(), "os", ("-", "--")):
    ax.plot(CIFAR10_CLASSES, recall, marker=marker, ls=ls, mfc="none", color=remedy_color(name), label=name)
ax.set(ylabel="recall (balanced evaluation set)", ylim=(0, 1),
       title=f"Long-tailed at ratio 20 ({source}, 16x16)\nrecall per class, from head to tail")
ax.set_xticks(range(len(CIFAR10_CLASSES)), CIFAR10_CLASSES, rotation=45, ha="right")
ax.legend()
fig.tight_layout()

# %%
# Confusion matrices
# ------------------
fig = plot_confusion_matrices(
    matrices, class_names=CIFAR10_CLASSES, max_cols=2,
    title=f"Long-tailed at ratio 20 ({source})\nconfusion matrices on the balanced evaluation set",
)
