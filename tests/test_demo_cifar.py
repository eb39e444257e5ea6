import csv

import numpy as np
import pytest
from PIL import Image

from imbsk.cli import main
from imbsk.datasets import downsample_images


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
    assert main(["demo", "cifar", "--data", str(tmp_path / "nowhere"), "--quick"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["demo", "cifar", "--data", str(tmp_path), "--quick"]) == 2
    assert "No CIFAR-10 data" in capsys.readouterr().err


def test_downsample_averages_blocks():
    X = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(downsample_images(X, 2)[0, 0], [[2, 4], [10, 12]])
    with pytest.raises(ValueError, match="image_size must divide"):
        downsample_images(X, 3)
