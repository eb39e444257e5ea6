# The two commands a user needs: `make demo` and `make test`. Each creates .venv when it is missing and
# installs what it needs. torch is pinned here (the build the package index serves: CPU-only on a machine
# set up for CPU wheels, the CUDA build from PyPI on Linux); the package itself asks only for a range.
# `make gpu-check` runs the CUDA tests and GPU benchmarks (10 minutes at most); without CUDA it says so
# in one line and exits 0.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0
PIP := $(BIN)/python -m pip install -q --disable-pip-version-check

.PHONY: demo test docs bench gpu-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-%: setup.cfg pyproject.toml | $(BIN)/python
	$(PIP) $(TORCH)
	$(PIP) -e ".[$*]"
	touch $@

demo: $(VENV)/.stamp-plot
	$(BIN)/imbsk demo toy --out imbsk-demo --overwrite

test: $(VENV)/.stamp-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

gpu-check: $(VENV)/.stamp-test
	$(BIN)/python benchmarks/gpu_check.py

docs: $(VENV)/.stamp-docs
	$(BIN)/python -m sphinx -E -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf docs/_build docs/auto_examples docs/generated imbsk-demo
