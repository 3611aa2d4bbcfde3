# Quick start: `make demo` and `make test` on a machine with Python 3.11 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-all docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes (the stamp is older than it).
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@# torch first, as the CPU build that lies on this kind of machine's disk
	@# (pip takes it for torch==2.13.0); the test extra's "torch>=2.2" is then
	@# satisfied and pip never fetches the registry's multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
	touch $@ $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo
	$(BIN)/mmlearn demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

# Also the tests marked slow (each is also covered by a benchmark script).
test-all: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m "slow or not slow"

# All suites at full size (minutes; real data from ../shared/data or
# MMLEARN_DATA_DIR). `make bench BENCH_ARGS=--quick`: the smoke run (seconds).
BENCH_ARGS ?=
bench: $(VENV)/.installed-test
	$(BIN)/mmlearn bench --out bench-out $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info docs/_build bench-out

docs: $(VENV)/.installed-test
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
