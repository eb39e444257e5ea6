"""The toy story: the imbalance ratio is not the whole problem.

On the separable task a plain classifier stays perfect even at 1:100; on the overlapping task it
collapses toward the majority as the ratio grows, and resampling brings most of it back. Every number is
a 5-fold stratified ``cross_validate`` on :data:`imbsk.metrics.BALANCED_SCORING`, printed beside the
task's Bayes-optimal balanced accuracy.
"""

import contextlib
import os

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import AdaBoostClassifier
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.neighbors import KNeighborsClassifier
from tqdm.auto import tqdm

from .._table import to_markdown, write_csv
from ..datasets import ToyTask, make_toy_2d
from ..datasets._toy import KINDS
from ..metrics import BALANCED_SCORING
from ..pipeline import make_pipeline
from ..sampling import SMOTE, RandomOverSampler, RandomUnderSampler

__all__ = ["run_toy_demo", "toy_pipelines"]


def toy_pipelines(random_state=0):
    """The (classifier, remedy) pipelines compared by the toy demo.

    Parameters
    ----------
    random_state : int, default=0
        Seed given to every sampler and to AdaBoost.

    Returns
    -------
    pipelines : dict of (classifier name, remedy name) -> imblearn Pipeline
    """
    classifiers = {
        "KNN": KNeighborsClassifier(n_neighbors=5),
        "AdaBoost": AdaBoostClassifier(n_estimators=50, random_state=random_state),
    }
    remedies = {
        "none": None,
        "random over-sampling": RandomOverSampler(random_state=random_state),
        "random under-sampling": RandomUnderSampler(random_state=random_state),
        "SMOTE": SMOTE(random_state=random_state),
    }
    return {
        (c_name, r_name): make_pipeline(*([clone(sampler)] if sampler is not None else []), clone(clf))
        for c_name, clf in classifiers.items()
        for r_name, sampler in remedies.items()
    }


def _out_of_fold_predictions(cv_result, X, y):
    """Predictions of each fold's estimator on its own test fold, without refitting anything."""
    y_pred = np.empty_like(y)
    for est, test in zip(cv_result["estimator"], cv_result["indices"]["test"]):
        y_pred[test] = est.predict(X[test])
    return y_pred


def run_toy_demo(
    out="imbsk-demo",
    *,
    kinds=KINDS,
    imbalance_ratios=(1, 10, 100),
    n_samples=5000,
    cv=5,
    random_state=0,
    n_jobs=None,
    parallel_context=None,
    plots=True,
    progress=True,
    verbose=True,
):
    """Run the toy demo: every (task, imbalance ratio, classifier, remedy) cross-validated.

    Parameters
    ----------
    out : str or path-like or None, default="imbsk-demo"
        Folder for ``toy_results.csv``, ``toy_results.md`` and the PNG figures; ``None`` writes nothing.
    kinds : sequence of {"separable", "overlapping"}, default=both
    imbalance_ratios : sequence of float, default=(1, 10, 100)
    n_samples : int, default=5000
        Samples per data set (majority + minority).
    cv : int, default=5
        Number of stratified folds.
    random_state : int, default=0
        Seed for the data, the folds, the samplers and AdaBoost.
    n_jobs : int or None, default=None
        Passed to ``cross_validate``.
    parallel_context : context manager or None, default=None
        Entered around all the fits, e.g. a joblib backend that sends them to a Dask cluster.
    plots : bool, default=True
        Write the PNG figures (needs matplotlib).
    progress : bool, default=True
        Show a tqdm progress bar.
    verbose : bool, default=True
        Print the balanced-accuracy table.

    Returns
    -------
    rows : list of dict
        One row per (kind, imbalance ratio, classifier, remedy) with the mean and standard deviation of
        each score over the folds and the task's Bayes-optimal balanced accuracy.
    """
    pipelines = toy_pipelines(random_state)
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    ceilings = {kind: ToyTask(kind).bayes_balanced_accuracy() for kind in kinds}
    rows, panels = [], {}
    bar = tqdm(total=len(kinds) * len(imbalance_ratios) * len(pipelines), desc="toy demo", disable=not progress)
    with parallel_context if parallel_context is not None else contextlib.nullcontext(), bar:
        for kind in kinds:
            for ir in imbalance_ratios:
                X, y = make_toy_2d(kind, n_samples=n_samples, imbalance_ratio=ir, random_state=random_state)
                for (c_name, r_name), pipe in pipelines.items():
                    bar.set_postfix_str(f"{kind} IR={ir:g} {c_name} + {r_name}")
                    res = cross_validate(
                        pipe, X, y, cv=folds, scoring=BALANCED_SCORING, n_jobs=n_jobs,
                        return_estimator=plots, return_indices=plots,
                    )
                    row = {
                        "kind": kind, "imbalance_ratio": ir, "classifier": c_name, "remedy": r_name,
                        "bayes_balanced_accuracy": ceilings[kind],
                    }
                    for name in BALANCED_SCORING:
                        row[name] = float(np.mean(res[f"test_{name}"]))
                        row[f"{name}_std"] = float(np.std(res[f"test_{name}"]))
                    rows.append(row)
                    if plots:
                        panels[(c_name, r_name, kind, ir)] = (X, y, _out_of_fold_predictions(res, X, y))
                    bar.update()
    if verbose:
        print(summary_table(rows))
    if out is not None:
        _write_outputs(rows, panels, out, plots)
    return rows


def summary_table(rows):
    """Balanced accuracy per task and classifier (rows) and remedy (columns), with the Bayes ceiling."""
    remedies = list(dict.fromkeys(r["remedy"] for r in rows))
    table = {}
    for r in rows:
        key = (r["kind"], r["imbalance_ratio"], r["classifier"])
        entry = table.setdefault(key, {"kind": r["kind"], "IR": r["imbalance_ratio"], "classifier": r["classifier"]})
        entry[r["remedy"]] = f"{r['balanced_accuracy']:.3f} ± {r['balanced_accuracy_std']:.3f}"
        entry["Bayes"] = f"{r['bayes_balanced_accuracy']:.3f}"
    return to_markdown(list(table.values()), ["kind", "IR", "classifier", *remedies, "Bayes"])


def _write_outputs(rows, panels, out, plots):
    os.makedirs(out, exist_ok=True)
    write_csv(rows, os.path.join(out, "toy_results.csv"))
    with open(os.path.join(out, "toy_results.md"), "w") as f:
        f.write("# Toy tasks: balanced accuracy (mean ± std over folds) vs the Bayes ceiling\n\n")
        f.write(summary_table(rows) + "\n\n## All scores\n\n" + to_markdown(rows) + "\n")
    if not plots:
        return
    from ..plotting import _pyplot, plot_metric_vs_ir, plot_toy_grid

    plt = _pyplot()
    fig = plot_metric_vs_ir(rows, metric="balanced_accuracy")
    fig.savefig(os.path.join(out, "balanced_accuracy_vs_ir.png"), dpi=110)
    plt.close(fig)
    for c_name, r_name in dict.fromkeys((c, r) for c, r, _, _ in panels):
        grid = {(k, ir): v for (c, r, k, ir), v in panels.items() if (c, r) == (c_name, r_name)}
        fig = plot_toy_grid(grid, title=f"{c_name} + {r_name} (out-of-fold predictions)")
        slug = f"{c_name}_{r_name}".lower().replace(" ", "_").replace("-", "_")
        fig.savefig(os.path.join(out, f"grid_{slug}.png"), dpi=90)
        plt.close(fig)
