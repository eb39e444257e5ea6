"""The code shown in README.md runs as written.

The quick start is run with tiny random images in place of the line that loads the user's data, and
with two epochs instead of the README's number; the toy snippet is run unchanged.
"""

import re
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from imbsk.classifier import FewStepsWarning
from imbsk.metrics import BALANCED_SCORING

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS_INDEX = ROOT / "docs" / "index.rst"
QUICK_START_MARKER = "<!-- quick-start:"
DATA_LINE = re.compile(r"^X, y = .*$", re.MULTILINE)
EPOCHS = re.compile(r"max_epochs=\d+")


def python_block_after(text, marker):
    """The first ```python block of the markdown ``text`` after ``marker``."""
    start = text.find(marker)
    assert start >= 0, f"{marker!r} not found"
    match = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL).search(text, start)
    assert match is not None, f"no python block after {marker!r}"
    return match.group(1)


def rst_block_after(text, marker):
    """The body of the first ``.. code-block:: python`` of the reST ``text`` after ``marker``, dedented."""
    start = text.find(marker)
    assert start >= 0, f"{marker!r} not found"
    match = re.compile(r"^\.\. code-block:: python\n\n((?:(?: {3,}.*)?\n)+)", re.MULTILINE).search(text, start)
    assert match is not None, f"no python code-block after {marker!r}"
    return textwrap.dedent(match.group(1)).strip("\n") + "\n"


def quick_start():
    return python_block_after(README.read_text(encoding="utf-8"), QUICK_START_MARKER)


def tiny_images():
    """60 random 8x8 grey images, 50 "cat" and 10 "dog": the quick start's (N, C, H, W) and labels."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(60, 1, 8, 8), dtype=np.uint8)
    y = np.array(["cat"] * 50 + ["dog"] * 10)
    return X, y


def with_tiny_data(code):
    """``code`` with its data line loading :func:`tiny_images` and two training epochs."""
    code, n_data = DATA_LINE.subn("X, y = tiny_images()", code)
    assert n_data == 1, f"the quick start must load its data in one line 'X, y = ...'; found {n_data}"
    code, n_epochs = EPOCHS.subn("max_epochs=2", code)
    assert n_epochs == 1, f"the quick start must set max_epochs=<int> once; found {n_epochs}"
    return code


def test_quick_start_runs_and_prints_every_balanced_score(capsys):
    code = with_tiny_data(quick_start())
    namespace = {"tiny_images": tiny_images}
    threads = torch.get_num_threads()
    # One thread: on tiny batches, more only add synchronisation (seconds on a busy machine).
    torch.set_num_threads(1)
    with warnings.catch_warnings():
        # Two epochs of 48 images are far below the warning's threshold, on purpose.
        warnings.simplefilter("ignore", FewStepsWarning)
        try:
            exec(compile(code, "README.md quick start", "exec"), namespace)
        finally:
            torch.set_num_threads(threads)
    lines = capsys.readouterr().out.splitlines()
    printed = dict(line.rsplit(":", 1) for line in lines)
    assert [name.strip() for name in printed] == list(BALANCED_SCORING)
    for value in printed.values():
        assert 0.0 <= float(value) <= 1.0
    scores = namespace["scores"]
    assert all(len(scores[f"test_{name}"]) == 5 for name in BALANCED_SCORING)
    assert namespace["clf"].get_params()["max_epochs"] == 2


def test_quick_start_fails_when_its_code_is_broken():
    broken = with_tiny_data(quick_start()).replace("BALANCED_SCORING)", "BALANCED_SCORING_)", 1)
    with pytest.raises(NameError, match="BALANCED_SCORING_"):
        exec(compile(broken, "README.md quick start", "exec"), {"tiny_images": tiny_images})


def test_quick_start_in_the_docs_is_the_readme_one():
    docs = rst_block_after(DOCS_INDEX.read_text(encoding="utf-8"), ".. quick-start")
    assert docs == quick_start()


def test_ten_lines_snippet_runs(capsys):
    code = python_block_after(README.read_text(encoding="utf-8"), "## Ten lines")
    exec(compile(code, "README.md ten lines", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    plain, under = float(out[0]), float(out[1])
    ceiling = float(out[2].split()[-1])
    # What the README's toy story reports: under-sampling recovers most of the gap to the ceiling.
    assert plain < under <= ceiling + 0.02


def test_readme_shell_commands_are_installed_ones():
    """Every command line shown runs after ``make demo``: through .venv/bin, or make itself."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    commands = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    commands = [c for c in commands if c]
    assert commands[:2] == ["make demo", "make test"]
    for command in commands[2:]:
        assert command.startswith((".venv/bin/imbsk ", ".venv/bin/python ")), command
    outs = [re.search(r"--out (\S+)", c).group(1) for c in commands[2:] if " demo " in c]
    # The demos refuse to replace their own files, so each command shown writes to its own folder.
    assert len(outs) == len(set(outs))
