# Developer and CI entry points; `make test` is exactly what CI runs.
BIN := .venv/bin

.PHONY: install run test lint typecheck pytest openapi clients

install:
	bash scripts/install.sh

run: install
	$(BIN)/skiff up

test: lint typecheck pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest

openapi:
	$(BIN)/python -m api openapi > openapi.yaml.tmp || { rm -f openapi.yaml.tmp; exit 1; }
	mv openapi.yaml.tmp openapi.yaml

clients:
	bash scripts/gen-clients.sh

# The core loop over real processes: warm invoke and cold start, with floors (bench/core_loop.py).
.PHONY: bench-core
bench-core:
	$(BIN)/python bench/core_loop.py $(BENCH_ARGS)

# Everything in bench/ at full size, and a run of each at reduced counts that ends within 3 minutes.
.PHONY: bench bench-quick bench-peers
bench: bench-peers
	$(BIN)/python bench/core_loop.py --calls 2000
	$(BIN)/python bench/cold_start.py --runs 30
	$(BIN)/python bench/fan_out.py --inputs 10000 --runs 3
	$(BIN)/python bench/placement.py --nodes 100 --rounds 5000

bench-quick:
	$(BIN)/python bench/core_loop.py --calls 300 --cold-runs 5
	$(BIN)/python bench/cold_start.py --runs 10
	$(BIN)/python bench/fan_out.py --inputs 1000 --runs 1
	$(BIN)/python bench/placement.py --nodes 100 --rounds 500

# Peers on the same machine (Ray), in a venv of their own: their dependencies are not the project's.
PEERS := bench/.venv-peers
bench-peers:
	test -x $(PEERS)/bin/python || { python3 -m venv $(PEERS) && $(PEERS)/bin/pip install -q -r bench/peers-requirements.txt; }
	$(PEERS)/bin/python bench/peers.py
