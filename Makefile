# make run: set up .venv when missing and open the editor. make test: set up and run the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-all bench presets clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m designer

# Two workers, one per core of the CI machine (tests/conftest.py gives each one torch thread).
TEST_WORKERS ?= 2

# The suite less the end-to-end fault variants marked slow (multi-process sweeps and DDP runs
# killed or frozen: 3 minutes of test time), which keeps CI within 15 minutes on 2 cores;
# `make test-all` runs those too.
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) -m "not slow"

test-all: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS)

presets: $(STAMP)
	$(PY) presets/generate.py

bench: $(STAMP)
	$(PY) bench/inference.py

clean:
	rm -rf $(VENV)
