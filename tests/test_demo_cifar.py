import csv

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
