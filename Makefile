# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test system-deps venv cluster-bin cluster screenshots bench lint k9s

system-deps:
	@scripts/install-system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: system-deps venv
	$(BIN)/ponyconsole demo

test: system-deps venv cluster-bin
	$(BIN)/ruff check .
	$(BIN)/mypy --strict ponyconsole/domain
	$(BIN)/pytest -p no:cacheprovider

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict ponyconsole/domain

# The scenes of the memory backend, then cluster mode on a real test cluster of its own.
screenshots: system-deps venv cluster-bin
	$(BIN)/python -m ponyconsole.ui.screenshots screenshots
	$(BIN)/python -m cluster.screenshots screenshots

bench: system-deps venv cluster-bin k9s
	$(BIN)/python bench/run_all.py

# k9s v0.50.16, the bar of cluster mode, for bench/bench_cluster_cost.py only (5-6 min cold).
k9s:
	@bench/build-k9s

# Real Kubernetes control plane for tests (README: "Development: the test cluster").
cluster-bin:
	@cluster/build

cluster: cluster-bin venv
	cluster/up
