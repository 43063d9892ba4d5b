# Two commands on a fresh machine: `make demo` (set up + main job) and `make test`.
# Set-up is idempotent: the venv is rebuilt only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.rldebug-installed
TORCH := torch==2.13.0

.PHONY: setup demo test test-all bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first: an unpinned torch can pull several GB of CUDA.
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --user --name rldebug --display-name "rldebug (.venv)" >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rldebug demo

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m ""

bench: $(STAMP)
	$(PY) benchmarks/launch.py
	$(PY) benchmarks/solve.py

lint: $(STAMP)
	$(VENV)/bin/ruff check rldebug tests recipes benchmarks

clean:
	rm -rf $(VENV)
