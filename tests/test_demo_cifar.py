import csv
import warnings

import numpy as np
import pytest
from PIL import Image

import imbsk.demos._cifar
from imbsk.cli import main
from imbsk.datasets import downsample_images
from imbsk.demos import cifar_output_files, run_cifar_demo


@pytest.fixture(scope="module")
def tiny_cifar(tmp_path_factory):
    """A CIFAR-like image folder: 60 cats and 60 dogs to train on, 20 of each to test, 32x32 PNGs."""
    root = tmp_path_factory.mktemp("cifar")
    rng = np.random.default_rng(0)
    for split, n in (("train", 60), ("test", 20)):
        for label, name in enumerate(("cat", "dog")):
            folder = root / "cifar10-jpeg" / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                img = rng.integers(0, 128, size=(32, 32, 3), dtype=np.uint8) + np.uint8(100 * label)
                Image.fromarray(img).save(folder / f"{i:04d}.png")
    return root


def test_quick_demo_writes_table_and_figures(tiny_cifar, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["demo", "cifar", "--data", str(tiny_cifar), "--quick", "--epochs", "1", "--out", str(out),
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "cat: 60, dog: 6" in printed and "test images: 40" in printed
    with open(out / "cifar_results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["remedy"] for r in rows] == [
        "none", "replicate oversampling", "augmented oversampling", "balanced batches", "class weights",
        "focal loss", "logit-adjusted loss", "post-hoc logit adjustment",
    ]
    assert all(0 <= float(r["test_balanced_accuracy"]) <= 1 for r in rows)
    for name in ("balanced_accuracy_per_remedy.png", "confusion_matrices.png", "balanced_accuracy_per_epoch.png"):
        assert (out / name).stat().st_size > 10_000


def test_cross_validation_column(tiny_cifar, tmp_path):
    from imbsk.demos import run_cifar_demo

    rows = run_cifar_demo(tiny_cifar, None, quick=True, max_epochs=1, cv=2, progress=False, verbose=False)
    assert all(0 <= r["cv_balanced_accuracy"] <= 1 for r in rows if r["remedy"] != "post-hoc logit adjustment")


def test_wrong_data_path_is_one_clear_line(tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["demo", "cifar", "--data", str(tmp_path / "nowhere"), "--quick", "--out", out]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["demo", "cifar", "--data", str(tmp_path), "--quick", "--out", out]) == 2
    assert "No CIFAR-10 " in capsys.readouterr().err


def test_downsample_averages_blocks():
    X = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(downsample_images(X, 2)[0, 0], [[2, 4], [10, 12]])
    with pytest.raises(ValueError, match="image_size must divide"):
        downsample_images(X, 3)


class Reached(Exception):
    """Raised by a stand-in for the next step: the run got past every check before it."""


def _reached(*args, **kwargs):
    raise Reached


@pytest.mark.parametrize("plots", [True, False])
def test_existing_output_files_stop_the_run_before_the_data_is_read(tiny_cifar, tmp_path, capsys, monkeypatch,
                                                                     plots):
    monkeypatch.setattr(imbsk.demos._cifar, "load_cifar_task", _reached)
    name = cifar_output_files(plots)[-1]
    (tmp_path / name).write_text("mine")
    argv = ["demo", "cifar", "--data", str(tiny_cifar), "--quick", "--out", str(tmp_path), "--no-progress"]
    argv += [] if plots else ["--no-plots"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert name in err and "--overwrite" in err
    assert (tmp_path / name).read_text() == "mine"
    with pytest.raises(Reached):
        main(argv + ["--overwrite"])
    (tmp_path / "out.txt").write_text("mine")
    assert main(["demo", "cifar", "--data", str(tiny_cifar), "--out", str(tmp_path / "out.txt")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_more_folds_than_minority_images_is_refused_before_any_fit(tiny_cifar, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(imbsk.demos._cifar, "cifar_remedies", _reached)
    assert main(["demo", "cifar", "--data", str(tiny_cifar), "--quick", "--out", str(tmp_path / "out"), "--cv", "7",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "cv=7 folds need at least 7 training images of every class; dog has 6" in err
    with pytest.raises(Reached):
        run_cifar_demo(tiny_cifar, None, quick=True, cv=6, progress=False, verbose=False)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"device": "no-such-device"}, "device='no-such-device' is not a device"),
        ({"max_epochs": 0}, "max_epochs must be a positive int"),
        ({"cv": 1}, "cv must be 0"),
        ({"ratio": 0.5}, "ratio must be a finite number >= 1"),
        ({"long_tailed": 10, "ratio": 5}, "ratio .* is the imbalance of the two-class task"),
        ({"classes": ["cat", 12]}, "12 is not a CIFAR-10 class; use a name or index: 0 airplane"),
        ({"classes": ["cat", 3]}, "must not name a class twice"),
        ({"classes": ["cat"]}, "exactly two"),
    ],
)
def test_bad_settings_are_refused_before_the_data_is_read(tmp_path, monkeypatch, kwargs, message):
    monkeypatch.setattr(imbsk.demos._cifar, "load_cifar_task", _reached)
    with pytest.raises(ValueError, match=message):
        run_cifar_demo(tmp_path, None, quick=True, progress=False, verbose=False, **kwargs)


def test_missing_cuda_is_refused_before_the_data_is_read(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(imbsk.demos._cifar, "load_cifar_task", _reached)
    assert main(["demo", "cifar", "--data", str(tmp_path), "--device", "cuda", "--out", str(tmp_path / "o")]) == 2
    assert "device='cuda' but CUDA is not available" in capsys.readouterr().err


def _fake_results(names=("cat", "dog")):
    from imbsk.demos._cifar import cifar_remedies

    remedies = list(cifar_remedies(_tiny_net())) + ["post-hoc logit adjustment"]
    rows = [{"remedy": r, "test_balanced_accuracy": 0.5 + 0.02 * i} for i, r in enumerate(remedies)]
    matrices = {r: np.array([[18, 2], [10 - i, i]]) for i, r in enumerate(remedies)}
    histories = {r: [{"epoch": 1, "test_bacc": 0.5}, {"epoch": 2, "test_bacc": 0.5}] for r in remedies[:-1]}
    for row, value in zip(histories["none"], (0.55, 0.6)):
        row["test_bacc_posthoc"] = value
    return rows, matrices, histories, list(names)


def _tiny_net(**params):
    from imbsk import CNNClassifier

    return CNNClassifier("simple_cnn", module__width=4, max_epochs=2, batch_size=16, random_state=0, **params)


def test_cifar_figures_say_what_they_show_and_keep_each_remedy_colour():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from imbsk.demos import CIFAR_PRESETS, cifar_figures, cifar_task_title
    from imbsk.plotting import remedy_color

    rows, matrices, histories, names = _fake_results()
    task = cifar_task_title(names, ratio=10, preset=CIFAR_PRESETS["quick"])
    assert task == "CIFAR-10 cat vs dog at 10:1 (16x16 pixels, 8 epochs)"
    assert cifar_task_title(["airplane", "cat", "dog"], long_tailed=100).startswith(
        "CIFAR-10-LT, 3 classes, imbalance ratio 100")
    figures = cifar_figures(rows, matrices, histories, names, task)
    try:
        assert list(figures) == cifar_output_files()[2:]
        scores, confusion, epochs = figures.values()
        titles = [scores.axes[0].get_title(), confusion.get_suptitle(), epochs.axes[0].get_title()]
        for title, what in zip(titles, ("per remedy", "confusion matrices", "after each epoch")):
            assert title.startswith(task) and what in title and "official test set" in title
        assert "balanced accuracy" in titles[0] and "balanced accuracy" in titles[2]
        # Post-hoc adjustment has its confusion matrix, with its balanced accuracy, and its own curve.
        panel_titles = [ax.get_title() for ax in confusion.axes if ax.get_visible()]
        assert len(panel_titles) == 8
        assert panel_titles[-1] == "post-hoc logit adjustment\nbalanced accuracy 0.800"  # (18/20 + 7/10) / 2
        curves = {line.get_label(): line for line in epochs.axes[0].get_lines()}
        np.testing.assert_allclose(curves["post-hoc logit adjustment"].get_ydata(), [0.55, 0.6])
        # One colour per remedy in all three figures.
        bars = dict(zip([r["remedy"] for r in rows], scores.axes[0].patches))
        for name in ("class weights", "post-hoc logit adjustment", "none"):
            frame = next(ax for ax in confusion.axes if ax.get_title().startswith(name + "\n"))
            colors = {to_hex(bars[name].get_facecolor()), to_hex(curves[name].get_color()),
                      to_hex(frame.spines["top"].get_edgecolor())}
            assert colors == {remedy_color(name)}
    finally:
        for fig in figures.values():
            plt.close(fig)


def test_epoch_score_records_the_post_hoc_adjusted_score_too():
    import copy

    from sklearn.metrics import balanced_accuracy_score

    from imbsk.demos._cifar import EpochTestScore

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(48, 3, 8, 8), dtype=np.uint8)
    y = np.r_[np.zeros(40, int), np.ones(8, int)]
    X[y == 1] //= 2  # the minority darker: something to learn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a warning about so few training steps
        net = _tiny_net(callbacks=[("test_score", EpochTestScore(X, y, posthoc_name="posthoc"))]).fit(X, y)
    assert len(net.history[:, "posthoc"]) == 2
    adjusted = copy.deepcopy(net).set_params(tau=1.0)
    assert net.history[-1, "posthoc"] == balanced_accuracy_score(y, adjusted.predict(X))
    assert net.history[-1, "test_bacc"] == balanced_accuracy_score(y, net.predict(X))
