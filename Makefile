# graphc: `make demo` runs the main job, `make test` the test suite; both set up .venv first.
# `make bench` runs the side-by-side benchmark (never part of `make test`): it adds the peers
# (torch 2.13 CPU, onnxruntime, threadpoolctl) to .venv and, unless KERAS_PY names an interpreter with
# keras + jax, creates the Keras-JAX peer's own venv .venv-keras (pip: keras, jax, jaxlib). When that
# install fails (offline) the table says "not available" for Keras-JAX. BENCH_ARGS=--quick: smoke test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
KERAS_VENV := .venv-keras
KERAS_STAMP := $(KERAS_VENV)/.installed
KERAS_PY ?=
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

# Keras 3 on JAX runs in its own venv (keras pins its own numpy/ml_dtypes; torch stays out of it)
$(KERAS_STAMP):
	test -x $(KERAS_VENV)/bin/python || $(PY) -m venv $(KERAS_VENV)
	$(KERAS_VENV)/bin/pip install -q --upgrade pip
	$(KERAS_VENV)/bin/pip install -q keras jax jaxlib
	touch $(KERAS_STAMP)

bench: $(BENCH_STAMP)
	@if [ -z "$(KERAS_PY)" ]; then $(MAKE) --no-print-directory $(KERAS_STAMP) || \
		echo "make bench: could not install the Keras-JAX peer into $(KERAS_VENV) (offline?); it is reported as not available"; fi
	$(BIN)/python benchmarks/run.py --python $(BIN)/python --keras-python "$(or $(KERAS_PY),$(KERAS_VENV)/bin/python)" $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(KERAS_VENV) build *.egg-info
