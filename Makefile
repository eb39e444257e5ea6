# The two commands a user needs: `make demo` and `make test`. Each creates .venv when it is missing and
# installs what it needs. torch is pinned here (a CPU build); the package itself asks only for a range.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0
PIP := $(BIN)/python -m pip install -q --disable-pip-version-check

.PHONY: demo test docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-%: setup.cfg pyproject.toml | $(BIN)/python
	$(PIP) $(TORCH)
	$(PIP) -e ".[$*]"
	touch $@

demo: $(VENV)/.stamp-plot
	$(BIN)/imbsk demo toy --out imbsk-demo

test: $(VENV)/.stamp-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

docs: $(VENV)/.stamp-docs
	$(BIN)/python -m sphinx -E -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf docs/_build docs/auto_examples docs/generated imbsk-demo
