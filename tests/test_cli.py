import csv
import subprocess
import sys

import pytest

from imbsk.cli import main


def test_demo_toy_writes_table_csv_and_figures(tmp_path, capsys):
    out = tmp_path / "demo"
    status = main(["demo", "toy", "--out", str(out), "--n-samples", "400", "--ratios", "1", "10",
                   "--cv", "2", "--no-progress"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "| kind | IR | classifier | none | random over-sampling |" in printed and "Bayes" in printed
    with open(out / "toy_results.csv") as f:
        rows = list(csv.DictReader(f))
    # 2 kinds x 2 ratios x 2 classifiers x 4 remedies
    assert len(rows) == 32
    assert {r["remedy"] for r in rows} == {"none", "random over-sampling", "random under-sampling", "SMOTE"}
    for r in rows:
        assert 0.0 <= float(r["balanced_accuracy"]) <= 1.0
        assert float(r["bayes_balanced_accuracy"]) >= float(r["balanced_accuracy"]) - 0.1
    sep = [float(r["balanced_accuracy"]) for r in rows if r["kind"] == "separable" and r["classifier"] == "KNN"]
    assert min(sep) > 0.95
    assert (out / "toy_results.md").read_text().startswith("# Toy tasks")
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "balanced_accuracy_vs_ir.png" in pngs and "grid_knn_none.png" in pngs and len(pngs) == 9
    assert all((out / p).stat().st_size > 10_000 for p in pngs)


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
