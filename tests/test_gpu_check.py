"""benchmarks/gpu_check.py (``make gpu-check``): one line and exit 0 without CUDA; on a GPU, steps under a time
limit whose results are appended, never overwritten. The GPU steps themselves run only on a GPU machine."""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPT = BENCHMARKS / "gpu_check.py"


@pytest.fixture
def gpu_check(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the script imports its sibling _paths
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_cuda_one_line_exit_0_and_nothing_written(tmp_path):
    output = tmp_path / "gpu_check.md"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # no device, even on a GPU machine
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(output)], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu-check: skipped, ")
    assert "CPU-only build" in lines[0] or "sees no CUDA device" in lines[0]
    assert not output.exists()
    assert time.perf_counter() - start < 60  # importing torch, nothing more


def test_plan_fits_the_ten_minutes_and_names_existing_scripts(gpu_check, tmp_path):
    steps = gpu_check.plan(tmp_path)
    assert sum(s.limit_s for s in steps) + gpu_check.RESERVE_S <= 600 == gpu_check.TOTAL_LIMIT_S
    assert [s.kind for s in steps].count("pytest") == 1
    for step in steps:
        scripts = [Path(a) for a in step.argv if a.endswith(".py")]
        assert all(p.is_file() for p in scripts)
        if step.needs_data:
            assert step.argv[step.argv.index("--data") + 1] == str(tmp_path)
            assert step.argv[step.argv.index("--device") + 1] == "cuda"
    assert {s.argv[s.argv.index("--task") + 1] for s in steps if s.needs_data} == {"catdog", "lt"}


def _step(gpu_check, code, limit_s=30, kind="benchmark"):
    return gpu_check.Step(f"step {code[:10]}", [sys.executable, "-c", code], limit_s, kind=kind)


def test_a_step_past_its_limit_is_killed_and_reported(gpu_check):
    start = time.perf_counter()
    status, seconds, output = gpu_check.run_step(
        _step(gpu_check, "import time; print('started', flush=True); time.sleep(60)"), 1
    )
    assert status == "timed out after 1 s" and "started" in output
    assert time.perf_counter() - start < 30


def test_main_on_a_gpu_appends_tables_and_failures(gpu_check, monkeypatch, tmp_path):
    table = "print('device: X'); print(); print('| a | b |'); print('|---|---|'); print('| 1 | 2 |')"
    monkeypatch.setattr(gpu_check, "no_cuda_reason", lambda: None)
    monkeypatch.setattr(gpu_check, "machine", lambda: "a test machine")
    monkeypatch.setattr(gpu_check, "plan", lambda data: [
        _step(gpu_check, "print('noise'); print(); " + table),
        _step(gpu_check, "print('1 passed, 5 deselected in 0.1s')", kind="pytest"),
        _step(gpu_check, "import sys; print('Traceback: boom'); sys.exit(3)"),
    ])
    output = tmp_path / "gpu_check.md"
    output.write_text("earlier runs\n")
    assert gpu_check.main(["--output", str(output)]) == 1
    text = output.read_text()
    assert text.startswith("earlier runs\n")  # appended, not overwritten
    assert "UTC: a test machine" in text and "NOT every step passed" in text
    assert "device: X\n\n| a | b |\n|---|---|\n| 1 | 2 |\n" in text and "\nnoise\n" not in text
    assert "    1 passed, 5 deselected" in text
    assert "failed (exit status 3)" in text and "    Traceback: boom" in text
