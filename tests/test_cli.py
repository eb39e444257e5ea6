import csv
import subprocess
import sys

import numpy as np
import pytest

import imbsk.demos
import imbsk.demos._output
import imbsk.demos._toy
from imbsk.cli import main
from imbsk.demos import min_toy_samples, toy_output_files

TOY_REMEDIES = ["none", "random over-sampling", "random under-sampling", "SMOTE",
                "self-paced ensemble", "balance cascade", "under-bagging"]


def test_demo_toy_writes_table_csv_and_figures(tmp_path, capsys, monkeypatch):
    # Two members per ensemble and AdaBoost of 10 rounds keep this test fast; the demo's ten members are
    # scored in the test below.
    monkeypatch.setattr(imbsk.demos._toy, "_N_MEMBERS", 2)
    monkeypatch.setattr(imbsk.demos._toy, "_ADABOOST_ROUNDS", 10)
    out = tmp_path / "demo"
    status = main(["demo", "toy", "--out", str(out), "--n-samples", "400", "--ratios", "1", "10",
                   "--cv", "2", "--no-progress"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "| kind | IR | classifier | " + " | ".join(TOY_REMEDIES) + " | Bayes |" in printed
    with open(out / "toy_results.csv") as f:
        rows = list(csv.DictReader(f))
    # 2 kinds x 2 ratios x 2 classifiers x 7 remedies (4 samplers, 3 ensembles)
    assert len(rows) == 56
    assert [r["remedy"] for r in rows[:7]] == TOY_REMEDIES
    assert {r["remedy"] for r in rows} == set(TOY_REMEDIES)
    for r in rows:
        assert 0.0 <= float(r["balanced_accuracy"]) <= 1.0
        assert float(r["bayes_balanced_accuracy"]) >= float(r["balanced_accuracy"]) - 0.1
    sep = [float(r["balanced_accuracy"]) for r in rows if r["kind"] == "separable" and r["classifier"] == "KNN"]
    assert len(sep) == 14 and min(sep) > 0.95
    assert (out / "toy_results.md").read_text().startswith("# Toy tasks")
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "balanced_accuracy_vs_ir.png" in pngs and "grid_knn_none.png" in pngs and len(pngs) == 15
    assert {"grid_knn_self_paced_ensemble.png", "grid_adaboost_balance_cascade.png",
            "grid_adaboost_under_bagging.png"} <= set(pngs)
    assert sorted(toy_output_files()) == sorted(["toy_results.csv", "toy_results.md", *pngs])
    assert all((out / p).stat().st_size > 10_000 for p in pngs)


def test_toy_ensembles_beat_the_plain_classifier_at_ratio_100():
    from sklearn.model_selection import StratifiedKFold, cross_validate

    from imbsk.datasets import make_toy_2d
    from imbsk.ensemble import BalancedBaggingClassifier

    pipelines = imbsk.demos._toy.toy_pipelines(random_state=0)
    assert list(pipelines) == [(c, r) for c in ("KNN", "AdaBoost") for r in TOY_REMEDIES]
    bagging = pipelines[("KNN", "under-bagging")][-1]
    assert isinstance(bagging, BalancedBaggingClassifier) and bagging.sampler is None
    assert (bagging.n_estimators, bagging.random_state) == (10, 0)
    X, y = make_toy_2d("overlapping", n_samples=2000, imbalance_ratio=100, random_state=0)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    score = {r: cross_validate(pipelines[("KNN", r)], X, y, cv=folds, scoring="balanced_accuracy")["test_score"].mean()
             for r in ("none", "random under-sampling", "self-paced ensemble", "balance cascade", "under-bagging")}
    assert score["none"] < 0.55  # plain KNN gives the 20 minority points up to the majority
    for r in ("self-paced ensemble", "balance cascade", "under-bagging"):
        assert score["none"] + 0.1 < score[r] < 0.853 + 0.02, (r, score)  # 0.853: the Bayes ceiling
    # Ten under-samples averaged beat one.
    assert score["under-bagging"] > score["random under-sampling"] + 0.05, score


def test_bad_values_give_one_line_errors(tmp_path, capsys):
    assert main(["demo", "toy", "--out", str(tmp_path), "--n-samples", "20", "--ratios", "100",
                 "--no-progress", "--no-plots"]) == 2
    assert "n_samples=20 is too small" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["demo", "toy", "--ratios", "0.5"])
    assert "expected a number >= 1" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    res = subprocess.run([sys.executable, "-m", "imbsk", "--version"], capture_output=True, text=True, check=True)
    assert res.stdout.startswith("imbsk ")

SMALL_TOY = ["--n-samples", "400", "--ratios", "1", "--cv", "2", "--no-progress"]


class Trained(Exception):
    """Raised by a stand-in for the first fit: the run got past every check."""


@pytest.fixture
def no_training(monkeypatch):
    """Make the toy demo's work (the Bayes ceilings, then the cross-validations) raise Trained."""
    def fail(*args, **kwargs):
        raise Trained

    class Task(imbsk.demos._toy.ToyTask):
        bayes_balanced_accuracy = fail

    monkeypatch.setattr(imbsk.demos._toy, "ToyTask", Task)
    monkeypatch.setattr(imbsk.demos._toy, "cross_validate", fail)


@pytest.mark.parametrize("plots", [True, False])
def test_existing_output_files_stop_the_run_before_any_fit(tmp_path, capsys, no_training, plots):
    name = toy_output_files(plots)[-1]
    (tmp_path / name).write_text("mine")
    argv = ["demo", "toy", "--out", str(tmp_path), *SMALL_TOY] + ([] if plots else ["--no-plots"])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert name in err and "--overwrite" in err and "Traceback" not in err
    assert (tmp_path / name).read_text() == "mine"
    # --overwrite lets the run start (the stand-in fit raises), and files of other names never block it.
    with pytest.raises(Trained):
        main(argv + ["--overwrite"])
    (tmp_path / name).unlink()
    (tmp_path / "notes.txt").write_text("mine")
    if not plots:
        (tmp_path / "grid_knn_none.png").write_text("mine")  # a figure a --no-plots run does not write
    with pytest.raises(Trained):
        main(argv)


def test_out_that_is_a_file_or_unwritable_is_refused_before_any_fit(tmp_path, capsys, no_training, monkeypatch):
    target = tmp_path / "results.txt"
    target.write_text("mine")
    assert main(["demo", "toy", "--out", str(target), *SMALL_TOY]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main(["demo", "toy", "--out", str(target / "sub"), *SMALL_TOY]) == 2
    assert "a file" in capsys.readouterr().err
    assert target.read_text() == "mine"
    # Running as root bypasses permission bits, so a refusal is simulated.
    monkeypatch.setattr(imbsk.demos._output.os, "access", lambda path, mode: False)
    assert main(["demo", "toy", "--out", str(tmp_path / "new"), *SMALL_TOY]) == 2
    assert "no permission" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_ctrl_c_stops_the_run_with_status_130(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    class Task(imbsk.demos._toy.ToyTask):
        def bayes_balanced_accuracy(self):  # the exact ceiling takes seconds and is not tested here
            return 1.0

    # Inside the demo's own loop: the interrupt must not be taken for a failed fit and skipped.
    monkeypatch.setattr(imbsk.demos._toy, "ToyTask", Task)
    monkeypatch.setattr(imbsk.demos._toy, "cross_validate", interrupted)
    assert main(["demo", "toy", "--out", str(tmp_path / "a"), *SMALL_TOY]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "imbsk: interrupted" and not (tmp_path / "a").exists()
    monkeypatch.setattr(imbsk.demos, "run_cifar_demo", interrupted)
    assert main(["demo", "cifar", "--data", str(tmp_path), "--quick"]) == 130
    assert capsys.readouterr().err.strip() == "imbsk: interrupted"


def test_too_few_samples_is_one_error_with_the_minimum(tmp_path, capsys, recwarn, no_training):
    assert main(["demo", "toy", "--out", str(tmp_path), "--n-samples", "10", "--no-progress"]) == 2
    err = capsys.readouterr().err
    need = min_toy_samples([1, 10, 100], 5)
    assert "n_samples=10 is too small" in err and f"at least {need}" in err
    assert len(recwarn) == 0
    assert main(["demo", "toy", "--out", str(tmp_path), "--n-samples", str(need - 1), "--no-progress"]) == 2
    with pytest.raises(Trained):
        main(["demo", "toy", "--out", str(tmp_path), "--n-samples", str(need), "--no-progress"])


@pytest.mark.parametrize("ratios, cv", [([1, 10, 100], 5), ([100], 2), ([1], 5), ([3.5, 40], 3)])
def test_min_toy_samples_is_the_least_that_fills_every_fold(ratios, cv):
    from sklearn.model_selection import StratifiedKFold

    from imbsk.datasets import make_toy_2d

    def fits(n):
        for ratio in ratios:
            _, y = make_toy_2d("separable", n_samples=n, imbalance_ratio=ratio, random_state=0)
            for train, test in StratifiedKFold(cv).split(y, y):
                # SMOTE's 5 neighbours need 6 samples of each class to train on; each test fold needs both.
                if min(np.bincount(y[train], minlength=2)) < 6 or min(np.bincount(y[test], minlength=2)) < 1:
                    return False
        return True

    need = min_toy_samples(ratios, cv)
    assert fits(need) and not fits(need - 1)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["toy", "--cv", "1"], "--cv: expected an integer >= 2"),
        (["toy", "--n-jobs", "0"], "--n-jobs: expected a non-zero integer"),
        (["toy", "--random-state", "-1"], "--random-state: expected an integer in 0 .. 2**32 - 1"),
        (["toy", "--ratios", "inf"], "--ratios: expected a number >= 1 (finite)"),
        (["toy", "--ratios", "10", "10"], "--ratios: a ratio is repeated"),
        (["toy", "--connect-timeout", "2"], "--connect-timeout: only with --scheduler"),
        (["toy", "--scheduler", "tcp://x:1", "--connect-timeout", "0"], "expected a positive number of seconds"),
        (["cifar", "--data", "d", "--cv", "1"], "--cv: expected 0 (no cross-validation) or an integer >= 2"),
        (["cifar", "--data", "d", "--classes", "12", "5"], "'12' is not a CIFAR-10 class; use a name or index: "
                                                           "0 airplane, 1 automobile"),
        (["cifar", "--data", "d", "--classes", "cat"], "--classes: expected exactly two different"),
        (["cifar", "--data", "d", "--classes", "cat", "3"], "--classes: expected exactly two different"),
        (["cifar", "--data", "d", "--long-tailed", "10", "--classes", "cat"], "expected two or more"),
        (["cifar", "--data", "d", "--long-tailed", "10", "--ratio", "5"], "--ratio: not allowed with --long-tailed"),
    ],
)
def test_bad_arguments_exit_2_before_any_work(argv, message, capsys, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the demo started")

    monkeypatch.setattr(imbsk.demos, "run_toy_demo", fail)
    monkeypatch.setattr(imbsk.demos, "run_cifar_demo", fail)
    with pytest.raises(SystemExit) as info:
        main(["demo", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_unreachable_scheduler_is_one_line_and_quick(tmp_path, capsys):
    pytest.importorskip("distributed")
    import socket
    import time

    with socket.socket() as s:  # a port nothing listens on once the socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    status = main(["demo", "toy", "--out", str(tmp_path / "out"), *SMALL_TOY, "--scheduler",
                   f"tcp://127.0.0.1:{port}", "--connect-timeout", "0.5"])
    assert status == 2 and time.perf_counter() - start < 15
    err = capsys.readouterr().err
    assert f"could not connect to the Dask scheduler at 'tcp://127.0.0.1:{port}' within connect_timeout=0.5 s" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
