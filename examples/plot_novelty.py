"""
Learning only the normal class: one-class detection on digits
=============================================================

When the rare class has a handful of images, the one-class framing learns what the abundant
("normal") class looks like and flags everything else. Here the normal class is the digit 0 of
scikit-learn's 8x8 digits, as uint8 images of shape ``(N, 1, 8, 8)``, and the rare class is every other
digit. The rare images in training are ten images of the digit 1; the test set also holds 2 to 9,
kinds of rare case that were never seen -- which a detector of "not a zero" should still catch.

Three parts of :mod:`imbsk.novelty` are used: :class:`~imbsk.novelty.DeepSVDD` (Ruff et al., 2018),
:class:`~imbsk.novelty.CNNFeatures` in front of scikit-learn's detectors, and
:class:`~imbsk.novelty.DetectorClassifier`, which makes a classifier out of a detector.
"""

# %%
# Data: zeros are normal, other digits rare
# -----------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.ensemble import IsolationForest
from sklearn.metrics import recall_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import OneClassSVM

from imbsk import CNNClassifier
from imbsk.metrics import BALANCED_SCORING
from imbsk.novelty import CNNFeatures, DeepSVDD, DetectorClassifier

# The networks are tiny: more threads would add overhead, not speed.
torch.set_num_threads(1)

digits = load_digits()
X_all = (digits.images * (255 / 16)).round().astype(np.uint8)[:, None]  # (1797, 1, 8, 8) uint8
d = digits.target
rng = np.random.default_rng(0)
zeros = rng.permutation(np.flatnonzero(d == 0))
seen = rng.permutation(np.flatnonzero(d == 1))
unseen = np.flatnonzero(d >= 2)

train = np.r_[zeros[:120], seen[:10]]  # 120 zeros, 10 rare images, all of the digit 1
test = np.r_[zeros[120:], seen[10:], rng.choice(unseen, 200, replace=False)]
X, y = X_all[train], (d[train] != 0).astype(int)  # label 1 = rare
X_test, y_test = X_all[test], (d[test] != 0).astype(int)
print(f"training: {np.bincount(y).tolist()} (normal, rare); test: {np.bincount(y_test).tolist()}")

# %%
# Deep SVDD on the zeros only
# ---------------------------
# The encoder (no bias terms, as the paper requires) is trained to pull the zeros towards a centre;
# ``score_samples`` is minus the squared distance to it. ``contamination`` places ``offset_`` so that
# 5% of the training zeros fall outside, which is where ``predict`` says -1.
svdd = DeepSVDD(width=8, rep_dim=16, epochs=30, contamination=0.05, random_state=0).fit(X[y == 0])
scores = svdd.score_samples(X_test)
is_unseen = np.isin(test, unseen)

fig, ax = plt.subplots(figsize=(6, 3.5))
bins = np.linspace(scores.min(), scores.max(), 40)
ax.hist(scores[y_test == 0], bins, alpha=0.6, label="zeros (normal)")
ax.hist(scores[(y_test == 1) & ~is_unseen], bins, alpha=0.6, label="digit 1 (rare, seen)")
ax.hist(scores[is_unseen], bins, alpha=0.6, label="digits 2-9 (rare, never seen)")
ax.axvline(svdd.offset_, color="k", ls="--", label="offset_ (contamination=0.05)")
ax.set(xlabel="score_samples (higher = more normal)", ylabel="test images", title="Deep SVDD scores")
ax.legend(fontsize=8)
fig.tight_layout()
print(f"Deep SVDD test ROC AUC (zero vs not): {roc_auc_score(y_test == 0, scores):.3f}")

# %%
# The same question to scikit-learn's detectors
# ---------------------------------------------
# :class:`~imbsk.novelty.CNNFeatures` turns images into feature vectors, so any scikit-learn detector can
# sit behind it. Random (untrained) convolutions are the honest baseline; the embeddings of a Deep SVDD
# trained on the zeros are features learnt without ever seeing the rare class. An isolation forest on the
# raw pixels shows what the convolutions add.
flat = FunctionTransformer(lambda Z: Z.reshape(len(Z), -1).astype(np.float32))
detectors = {
    "Deep SVDD": svdd,
    "random conv + OCSVM": make_pipeline(CNNFeatures("random", random_state=0), StandardScaler(), OneClassSVM(nu=0.05)),
    "Deep SVDD features + OCSVM": make_pipeline(
        CNNFeatures(DeepSVDD(width=8, rep_dim=16, epochs=30, random_state=0)), StandardScaler(), OneClassSVM(nu=0.05)
    ),
    "pixels + isolation forest": make_pipeline(flat, IsolationForest(random_state=0)),
}
aucs = {}
for name, det in detectors.items():
    if det is not svdd:
        det.fit(X[y == 0])
    s = det.decision_function(X_test)
    aucs[name] = (roc_auc_score(y_test == 0, s), roc_auc_score(y_test[~is_unseen] == 0, s[~is_unseen]),
                  roc_auc_score(y_test[(y_test == 0) | is_unseen] == 0, s[(y_test == 0) | is_unseen]))

fig, ax = plt.subplots(figsize=(6, 4))
pos = np.arange(len(aucs))
for k, label in enumerate(["all rare", "digit 1", "digits 2-9 (unseen)"]):
    ax.barh(pos + 0.27 * (k - 1), [v[k] for v in aucs.values()], height=0.27, label=label)
ax.set(yticks=pos, yticklabels=list(aucs), xlim=(0.9, 1.0), xlabel="test ROC AUC (zeros vs rare)")
ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.3, -0.18), ncol=3)
fig.tight_layout()
for name, (auc_all, auc_seen, auc_unseen) in aucs.items():
    print(f"{name:28s} ROC AUC all {auc_all:.3f}, digit 1 {auc_seen:.3f}, unseen 2-9 {auc_unseen:.3f}")

# %%
# On 8x8 digits every detector ranks zeros first almost perfectly -- even an isolation forest on the raw
# pixels, since a zero's ring of ink is easy to tell apart -- and the random convolutions with a one-class
# SVM do best of all: 30 epochs of Deep SVDD on 120 zeros learn nothing that this easy task needs. On
# photographs the learnt features matter more: on airplane (normal) vs automobile CIFAR-10 training
# images, the Deep SVDD score of a trained encoder reached a ROC AUC of 0.77 against 0.65 untrained (see
# the documentation page, and ``benchmarks/bench_novelty.py``).

# %%
# A classifier from a detector, cross-validated on balanced metrics
# -----------------------------------------------------------------
# :class:`~imbsk.novelty.DetectorClassifier` fits the detector on the zeros of each training fold and
# tunes the threshold on balanced accuracy, on held-out zeros and the rare images of the fold. It goes into
# ``cross_validate`` with :data:`~imbsk.metrics.BALANCED_SCORING` on the 4-D uint8 images like any
# classifier. Beside it, a CNN trained on both classes with class-balanced batches. The cross-validation
# folds hold only zeros and ones, so both look good here.
cv = StratifiedKFold(5, shuffle=True, random_state=0)
models = {
    "DetectorClassifier(DeepSVDD)": DetectorClassifier(
        DeepSVDD(width=8, rep_dim=16, epochs=30, random_state=0), random_state=0),
    "CNNClassifier, balanced batches": CNNClassifier(
        batch_balance="class", max_epochs=30, batch_size=32, module__width=8, optimizer="adamw", lr=1e-3,
        random_state=0),
}
for name, model in models.items():
    res = cross_validate(model, X, y, cv=cv, scoring=BALANCED_SCORING)
    print(f"{name:33s} CV balanced accuracy {res['test_balanced_accuracy'].mean():.3f}, "
          f"rare recall {res['test_minority_recall'].mean():.3f}")

# %%
# On the test set, the question the one-class framing answers: are the never-seen digits 2-9 caught?
for name, model in models.items():
    pred = model.fit(X, y).predict(X_test)
    print(f"{name:33s} recall of digit 1: {recall_score(y_test[~is_unseen], pred[~is_unseen]):.3f}, "
          f"of unseen 2-9: {recall_score(y_test[is_unseen], pred[is_unseen]):.3f}, "
          f"zeros kept: {np.mean(pred[y_test == 0] == 0):.3f}")

# %%
# Reading the result: the detector knows only what a zero looks like, so a 7 is as unusual to it as a
# 1 -- its recall on the unseen digits is as high as on the seen ones. The classifier learnt "zero versus
# one" from ten images of ones; on this run it caught about half of the other digits (a 6 or a 9 is
# closer to a 0 than to a 1). The price of the one-class framing: it throws away what the rare images
# could teach, and its threshold rests on a few held-out images (here some zeros are lost). When the
# rare class is well sampled and will not change, a classifier is usually better; with twenty rare
# images of the digits 1-4, the same comparison goes to the CNN (see also
# ``benchmarks/bench_novelty.py`` on CIFAR-10 pairs).
plt.show()
