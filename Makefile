# Two commands on a fresh machine: `make demo` (set up + main job) and `make test`.
# Set-up is idempotent: the venv is rebuilt only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.rldebug-installed
TORCH := torch==2.13.0

.PHONY: setup browser demo test test-durations test-all test-tf bench lint docs pictures clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first: an unpinned torch can pull several GB of CUDA.
	$(PY) -m pip install --quiet $(TORCH)
	# [pycharm]: PyCharm's side of attach_remote, for its protocol test. CC=false:
	# pydevd-pycharm's optional C speedups took ~45 s to compile here; without a compiler
	# its setup.py installs the plain-Python debugger (what the test needs) in ~10 s.
	CC=false $(PY) -m pip install --quiet -e ".[dev,pycharm]"
	$(PY) -m ipykernel install --user --name rldebug --display-name "rldebug (.venv)" >/dev/null
	touch $(STAMP)

# Headless Chromium for the HTML report's browser test (Debian's package). Where
# apt-get cannot install it (no root, no network), the test is skipped with the reason.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	      >/dev/null 2>&1 && echo "make browser: installed chromium" || \
	    echo "make browser: could not install chromium with apt-get; the HTML report's browser test will be skipped."; }

demo: $(STAMP)
	$(VENV)/bin/rldebug demo

# Two pytest-xdist workers, one per core: many tests wait on Ray, subprocesses and a
# debugger, so the default run takes ~0.65x the time of one process. A file's tests stay
# in one worker (they share module fixtures); the longest files start first
# (tests/conftest.py, from tests/file_durations.json). TEST_WORKERS=0: in this process.
TEST_WORKERS ?= 2
PYTEST_PARALLEL = -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
test: $(STAMP) browser
	$(PY) -m pytest -q $(PYTEST_PARALLEL)

# Re-measure each test file's seconds (the order make test hands files out in).
test-durations: $(STAMP) browser
	-$(PY) -m pytest -q $(PYTEST_PARALLEL) --junitxml=.test-durations.xml
	$(PY) tests/file_durations.py .test-durations.xml > tests/file_durations.json
	rm -f .test-durations.xml

test-all: $(STAMP) browser
	$(PY) -m pytest -q -m ""

# The Keras recipe (old stack, framework="tf2") in its own venv: TensorFlow in .venv
# would make RLlib import it everywhere. .venv-tf sees .venv's packages through a .pth
# file and adds only the [tf] extra (tensorflow + tf-keras: a ~550 MB download for tensorflow 2.21 on Linux).
VENV_TF := .venv-tf
TF_STAMP := $(VENV_TF)/.rldebug-installed

$(TF_STAMP): $(STAMP)
	test -x $(VENV_TF)/bin/python || $(PYTHON) -m venv $(VENV_TF)
	$(PY) -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" > \
	  "$$($(VENV_TF)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/rldebug-base-venv.pth"
	$(VENV_TF)/bin/python -m pip install --quiet tensorflow tf-keras
	touch $(TF_STAMP)

test-tf: $(TF_STAMP)
	$(VENV_TF)/bin/python -m pytest -q -p no:cacheprovider tests/test_recipes.py -k keras_model

bench: $(STAMP)
	$(PY) benchmarks/launch.py
	$(PY) benchmarks/solve.py

# The documentation's pictures, from real runs (docs/pictures.py says how each is made).
pictures: $(STAMP) browser
	$(PY) docs/pictures.py

# The documentation site (Sphinx + MyST, docs/conf.py says why): warnings are errors.
docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html
	@echo "open docs/_build/html/index.html"

lint: $(STAMP)
	$(VENV)/bin/ruff check rldebug tests recipes benchmarks

clean:
	rm -rf $(VENV)
