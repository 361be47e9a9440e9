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
