# graphc: `make demo` runs the main job, `make test` the test suite; both set up .venv first.
# `make bench` runs the side-by-side benchmark (never part of `make test`): it adds the peers
# (torch 2.13 CPU, onnxruntime, threadpoolctl) to .venv; the Keras-JAX peer runs under KERAS_PY,
# a separate interpreter with keras + jax (e.g. `make bench KERAS_PY=/path/to/kerasvenv/bin/python`;
# left out with a "not available" note when it is not importable). BENCH_ARGS=--quick: smoke test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
KERAS_PY ?= $(firstword $(wildcard .venv-keras/bin/python))
BENCH_ARGS ?=

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev,cli]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q tests

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install -q torch==2.13.0 onnxruntime threadpoolctl
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py --python $(BIN)/python --keras-python "$(KERAS_PY)" $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
