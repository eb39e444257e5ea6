"""
Ensembles for imbalance: self-paced, cascade, bagging and boosting
==================================================================

Each member of an imbalance ensemble is trained on a re-balanced subset, so no member sees the
majority drown the minority, and together they still see most of the majority. This example compares,
on the overlapping toy task at 1:10 and 1:100, a single decision tree (with and without random
under-sampling) against the ensembles of :mod:`imbsk.ensemble` built on the same tree, and shows how
the self-paced ensemble and the balance cascade choose the majority samples of their later members.
"""

# %%
# The task and the rows
# ---------------------
# :func:`imbsk.datasets.make_toy_2d` draws the overlapping task, whose Bayes-optimal balanced accuracy
# is known. Every row is scored by 5-fold stratified cross-validation on balanced accuracy.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.tree import DecisionTreeClassifier

from imbsk.datasets import ToyTask, make_toy_2d
from imbsk.ensemble import (
    BalanceCascadeClassifier,
    BalancedBaggingClassifier,
    EasyEnsembleClassifier,
    RUSBoostClassifier,
    SelfPacedEnsembleClassifier,
)
from imbsk.pipeline import make_pipeline
from imbsk.sampling import SMOTE, RandomUnderSampler

tree = DecisionTreeClassifier(min_samples_leaf=5, random_state=0)
rows = {
    "tree": tree,
    "RUS + tree": make_pipeline(RandomUnderSampler(random_state=0), tree),
    "self-paced ensemble": SelfPacedEnsembleClassifier(tree, 10, random_state=0),
    "balance cascade": BalanceCascadeClassifier(tree, 10, random_state=0),
    "under-bagging": BalancedBaggingClassifier(tree, 10, random_state=0),
    "SMOTE-bagging": BalancedBaggingClassifier(tree, 10, sampler=SMOTE(random_state=0), random_state=0),
    "EasyEnsemble (of trees)": EasyEnsembleClassifier(10, estimator=tree, random_state=0),
    # A weak learner (a stump) fails here at 1:100: see the RUSBoostClassifier documentation.
    "RUSBoost": RUSBoostClassifier(tree, n_estimators=10, random_state=0),
}
bayes = ToyTask("overlapping").bayes_balanced_accuracy()
scores = {}
for ratio in (10, 100):
    X, y = make_toy_2d("overlapping", n_samples=3000, imbalance_ratio=ratio, random_state=0)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    for name, est in rows.items():
        result = cross_validate(est, X, y, cv=folds, scoring="balanced_accuracy")
        scores[(name, ratio)] = result["test_score"]
        print(f"IR {ratio:>3}  {name:<26} {result['test_score'].mean():.3f} ± {result['test_score'].std():.3f}")
print(f"Bayes-optimal balanced accuracy: {bayes:.3f}")

# %%
# Scores against the Bayes ceiling
# --------------------------------
fig, ax = plt.subplots(figsize=(7, 4))
names = list(rows)
for k, ratio in enumerate((10, 100)):
    means = [scores[(n, ratio)].mean() for n in names]
    errs = [scores[(n, ratio)].std() for n in names]
    ax.barh(np.arange(len(names)) + 0.4 * k - 0.2, means, height=0.4, xerr=errs, label=f"IR {ratio}")
ax.axvline(bayes, color="k", linestyle="--", label="Bayes ceiling")
ax.set_yticks(np.arange(len(names)), names)
ax.invert_yaxis()
ax.set_xlim(0.45, 0.9)
ax.set_xlabel("balanced accuracy (5-fold)")
ax.legend(loc="lower right")
fig.tight_layout()

# %%
# Which majority samples the later members see
# --------------------------------------------
# Both ensembles record the rows each member was fitted on (``estimators_samples_``). The self-paced
# ensemble's last member, with a large self-paced factor, holds many samples near the class boundary;
# the balance cascade's last member draws from a pool from which the samples the ensemble already
# classified well have been removed.
X, y = make_toy_2d("overlapping", n_samples=3000, imbalance_ratio=10, random_state=0)
fitted = {
    "self-paced ensemble": SelfPacedEnsembleClassifier(tree, 10, random_state=0).fit(X, y),
    "balance cascade": BalanceCascadeClassifier(tree, 10, random_state=0).fit(X, y),
}
fig, axes = plt.subplots(2, 2, figsize=(8, 8), sharex=True, sharey=True)
for row, (name, est) in zip(axes, fitted.items()):
    for ax, member in zip(row, (0, -1)):
        rows_used = est.estimators_samples_[member]
        majority = rows_used[y[rows_used] == 0]
        ax.scatter(*X[y == 0].T, s=2, c="0.85")
        ax.scatter(*X[majority].T, s=4, c="C0", label="majority rows of this member")
        ax.scatter(*X[y == 1].T, s=4, c="C3", label="minority")
        ax.set_title(f"{name}: member {member % len(est.estimators_) + 1} of {len(est.estimators_)}", fontsize=9)
axes[0, 0].legend(loc="lower left", fontsize=7)
fig.tight_layout()
plt.show()
