"""The toy story: the imbalance ratio is not the whole problem.

On the separable task a plain classifier stays perfect even at 1:100; on the overlapping task it
collapses toward the majority as the ratio grows, and resampling brings most of it back. Ensembles of
members fitted on under-samples (:mod:`imbsk.ensemble`) see most of the majority that one under-sample
throws away: under-bagging comes closest to the ceiling, while the balance cascade, whose later members
see only the majority samples in the overlap, can fall below a single under-sample. Every number is a
5-fold stratified ``cross_validate`` on :data:`imbsk.metrics.BALANCED_SCORING`, printed beside the task's
Bayes-optimal balanced accuracy.
"""

import contextlib
import numbers
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
from ..ensemble import BalanceCascadeClassifier, BalancedBaggingClassifier, SelfPacedEnsembleClassifier
from ..metrics import BALANCED_SCORING
from ..pipeline import make_pipeline
from ..sampling import SMOTE, RandomOverSampler, RandomUnderSampler
from ._output import check_output_folder

__all__ = ["min_toy_samples", "run_toy_demo", "toy_output_files", "toy_pipelines"]

# Neighbours used by KNN and by SMOTE; SMOTE needs one more minority sample than this in every
# training fold, which sets the smallest data set the demo can run on.
_N_NEIGHBORS = 5
# Rounds of the AdaBoost classifier, alone or as each member of an ensemble.
_ADABOOST_ROUNDS = 50
# Members of each ensemble row: enough for under-bagging to beat one under-sample on the overlapping
# task at 1:100; ten AdaBoost members make the AdaBoost ensembles most of the demo's run time.
_N_MEMBERS = 10


def toy_pipelines(random_state=0):
    """The (classifier, remedy) pipelines compared by the toy demo.

    Each classifier is run plain, after one of three samplers, and as the base estimator of three
    ensembles of ten members fitted on under-samples of the majority: the self-paced ensemble, the
    balance cascade and under-bagging (:mod:`imbsk.ensemble`).

    Parameters
    ----------
    random_state : int, default=0
        Seed given to every sampler, every ensemble and AdaBoost.

    Returns
    -------
    pipelines : dict of (classifier name, remedy name) -> imblearn Pipeline
        Samplers first, then ensembles, in the same order for every classifier.
    """
    classifiers = {
        "KNN": KNeighborsClassifier(n_neighbors=_N_NEIGHBORS),
        "AdaBoost": AdaBoostClassifier(n_estimators=_ADABOOST_ROUNDS, random_state=random_state),
    }
    samplers = {
        "none": None,
        "random over-sampling": RandomOverSampler(random_state=random_state),
        "random under-sampling": RandomUnderSampler(random_state=random_state),
        "SMOTE": SMOTE(k_neighbors=_N_NEIGHBORS, random_state=random_state),
    }
    ensembles = {
        "self-paced ensemble": (SelfPacedEnsembleClassifier, {}),
        "balance cascade": (BalanceCascadeClassifier, {}),
        # BalancedBaggingClassifier under-samples by default: under-bagging. Without the bootstrap every
        # member keeps all the minority of its training fold; a bootstrap could leave a member of the
        # smallest data set the demo allows fewer samples than KNN's neighbours, and the fit would fail.
        "under-bagging": (BalancedBaggingClassifier, {"bootstrap": False}),
    }
    pipelines = {}
    for c_name, clf in classifiers.items():
        for r_name, sampler in samplers.items():
            pipelines[(c_name, r_name)] = make_pipeline(*([clone(sampler)] if sampler is not None else []), clone(clf))
        for r_name, (ensemble, params) in ensembles.items():
            pipelines[(c_name, r_name)] = make_pipeline(
                ensemble(clone(clf), n_estimators=_N_MEMBERS, random_state=random_state, **params)
            )
    return pipelines


def _grid_filename(c_name, r_name):
    slug = f"{c_name}_{r_name}".lower().replace(" ", "_").replace("-", "_")
    return f"grid_{slug}.png"


def toy_output_files(plots=True):
    """Names of the files :func:`run_toy_demo` writes into its output folder.

    Parameters
    ----------
    plots : bool, default=True
        Include the PNG figures.

    Returns
    -------
    names : list of str
    """
    names = ["toy_results.csv", "toy_results.md"]
    if plots:
        names += ["balanced_accuracy_vs_ir.png"] + [_grid_filename(c, r) for c, r in toy_pipelines()]
    return names


def _smallest_class(cv):
    """Fewest samples a class needs: one in each of ``cv`` test folds, and SMOTE's neighbours plus one in
    every training fold (the largest test fold of a class of ``m`` samples holds ``ceil(m / cv)``)."""
    m = cv
    while m - -(-m // cv) < _N_NEIGHBORS + 1:
        m += 1
    return m


def min_toy_samples(imbalance_ratios, cv):
    """Smallest ``n_samples`` with which :func:`run_toy_demo` runs every fit at these ratios.

    Each class (the minority above all, at the largest ratio) must have a sample in every one of the
    ``cv`` test folds and enough samples in every training fold for SMOTE's neighbours.

    Parameters
    ----------
    imbalance_ratios : sequence of float
    cv : int

    Returns
    -------
    n_samples : int
    """
    m = _smallest_class(cv)
    need = 2 * m
    for ratio in imbalance_ratios:
        # make_toy_2d draws round(n / (1 + ratio)) minority samples; both counts grow with n.
        n = max(2 * m, int(np.ceil((m - 0.5) * (1 + ratio))))
        while min(round(n / (1 + ratio)), n - round(n / (1 + ratio))) < m:
            n += 1
        need = max(need, n)
    return need


def _check_settings(kinds, imbalance_ratios, n_samples, cv):
    """Reject settings that would fail, or fill the screen with warnings, only once fitting has begun."""
    if isinstance(kinds, str) or not len(kinds):
        raise ValueError(f"kinds must be a non-empty list of toy task kinds {list(KINDS)}; got {kinds!r}.")
    for kind in kinds:
        ToyTask(kind)  # raises on an unknown kind
    ratios = list(imbalance_ratios)
    if not ratios:
        raise ValueError("imbalance_ratios must hold at least one ratio; got none.")
    for ratio in ratios:
        if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or not 1 <= ratio < np.inf:
            raise ValueError(f"imbalance_ratios must be finite numbers >= 1; got {ratio!r}.")
    if len(set(ratios)) != len(ratios):
        raise ValueError(f"imbalance_ratios must not repeat a ratio; got {ratios}.")
    if isinstance(cv, bool) or not isinstance(cv, numbers.Integral) or cv < 2:
        raise ValueError(f"cv must be an int >= 2 (the number of stratified folds); got cv={cv!r}.")
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int; got n_samples={n_samples!r}.")
    need = min_toy_samples(ratios, cv)
    if n_samples < need:
        raise ValueError(
            f"n_samples={n_samples} is too small for imbalance ratio {max(ratios):g} with cv={cv}: every "
            f"class needs at least {_smallest_class(cv)} samples (one in each test fold, and "
            f"{_N_NEIGHBORS + 1} in each training fold for SMOTE); n_samples must be at least {need}."
        )


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
    overwrite=False,
):
    """Run the toy demo: every (task, imbalance ratio, classifier, remedy) cross-validated.

    Every setting and the output folder are checked before the first fit.

    Parameters
    ----------
    out : str or path-like or None, default="imbsk-demo"
        Folder for ``toy_results.csv``, ``toy_results.md`` and the PNG figures; ``None`` writes nothing.
    kinds : sequence of {"separable", "overlapping"}, default=both
    imbalance_ratios : sequence of float, default=(1, 10, 100)
        Distinct finite ratios >= 1.
    n_samples : int, default=5000
        Samples per data set (majority + minority); at least :func:`min_toy_samples` of the ratios
        and ``cv``.
    cv : int, default=5
        Number of stratified folds (>= 2).
    random_state : int, default=0
        Seed for the data, the folds, the samplers, the ensembles and AdaBoost.
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
    overwrite : bool, default=False
        Replace the demo's files (:func:`toy_output_files`) if ``out`` already holds them; otherwise
        that is an error, raised before any fit.

    Returns
    -------
    rows : list of dict
        One row per (kind, imbalance ratio, classifier, remedy) with the mean and standard deviation of
        each score over the folds and the task's Bayes-optimal balanced accuracy.

    Raises
    ------
    ValueError
        If a setting is invalid, e.g. ``n_samples`` too small for the ratios and ``cv``.
    FileExistsError
        If ``out`` holds a file the demo writes and ``overwrite`` is false.
    """
    _check_settings(kinds, imbalance_ratios, n_samples, cv)
    check_output_folder(out, toy_output_files(plots), overwrite)
    if plots and out is not None:
        from ..plotting import _pyplot

        _pyplot()  # says how to install matplotlib now rather than after every fit
    pipelines = toy_pipelines(random_state)
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    rows, panels = [], {}
    # The parallel context first: a cluster that cannot be reached fails before any other work.
    with parallel_context if parallel_context is not None else contextlib.nullcontext(), tqdm(
        total=len(kinds) * len(imbalance_ratios) * len(pipelines), desc="toy demo", disable=not progress
    ) as bar:
        ceilings = {kind: ToyTask(kind).bayes_balanced_accuracy() for kind in kinds}
        for kind in kinds:
            for ir in imbalance_ratios:
                X, y = make_toy_2d(kind, n_samples=n_samples, imbalance_ratio=ir, random_state=random_state)
                for (c_name, r_name), pipe in pipelines.items():
                    bar.set_postfix_str(f"{kind} IR={ir:g} {c_name} + {r_name}")
                    res = cross_validate(
                        pipe, X, y, cv=folds, scoring=BALANCED_SCORING, n_jobs=n_jobs,
                        return_estimator=plots, return_indices=plots,
                        # A fit that fails is an error, not a NaN cell in the table.
                        error_score="raise",
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
        _write_outputs(rows, panels, out, plots, overwrite)
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


def _write_outputs(rows, panels, out, plots, overwrite):
    check_output_folder(out, toy_output_files(plots), overwrite)
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
        fig.savefig(os.path.join(out, _grid_filename(c_name, r_name)), dpi=90)
        plt.close(fig)
