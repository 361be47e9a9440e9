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

# The load, fault and soak tests at nightly size (tests/scale.py): NIGHTLY_SCALE times their counts, fault
# rounds and repetitions, and the L5 soak for 3 minutes per unit of scale (30 minutes at the default 10).
.PHONY: test-nightly
NIGHTLY_SCALE := 10
NIGHTLY_TESTS := tests/e2e/test_load.py tests/e2e/test_faults.py tests/e2e/test_outages.py tests/e2e/test_chaos.py \
	tests/e2e/test_soak.py
test-nightly:
	SKIFF_TEST_SCALE=$(NIGHTLY_SCALE) $(BIN)/pytest $(NIGHTLY_TESTS)

openapi:
	$(BIN)/python -m api openapi > openapi.yaml.tmp || { rm -f openapi.yaml.tmp; exit 1; }
	mv openapi.yaml.tmp openapi.yaml

clients:
	bash scripts/gen-clients.sh

# The core loop over real processes: warm invoke and cold start, with floors (bench/core_loop.py).
.PHONY: bench-core
bench-core:
	$(BIN)/python bench/core_loop.py $(BENCH_ARGS)

# Everything in bench/ at full size, and a run of each at reduced counts that ends within 3 minutes. The
# benches write JSON into bench/results/ (bench/results/quick/), and compare.py sets Skiff beside its peers.
.PHONY: bench bench-quick bench-peers bench-celery bench-venv-peers bench-venv-celery
RESULTS := bench/results
bench: bench-venv-peers bench-venv-celery
	$(PEERS)/bin/python bench/peers.py --calls 2000 --tasks 10000 --client-calls 5000 --runs 3 --json $(RESULTS)/ray.json
	$(CELERY)/bin/python bench/celery_peer.py --calls 2000 --tasks 10000 --runs 3 --json $(RESULTS)/celery.json
	$(BIN)/python bench/core_loop.py --calls 2000 --rss-calls 20000 --json $(RESULTS)/core_loop.json
	$(BIN)/python bench/cold_start.py --runs 30
	$(BIN)/python bench/fan_out.py --inputs 10000 --runs 3 --json $(RESULTS)/fan_out.json
	$(BIN)/python bench/throughput.py --calls 5000 --map-inputs 10000 --runs 3 --json $(RESULTS)/throughput.json
	$(BIN)/python bench/placement.py --nodes 100 --rounds 5000
	$(BIN)/python bench/compare.py $(RESULTS)

bench-quick: bench-venv-peers bench-venv-celery
	$(PEERS)/bin/python bench/peers.py --calls 300 --tasks 1000 --client-calls 500 --runs 2 --json $(RESULTS)/quick/ray.json
	$(CELERY)/bin/python bench/celery_peer.py --calls 300 --tasks 1000 --runs 2 --json $(RESULTS)/quick/celery.json
	$(BIN)/python bench/core_loop.py --calls 300 --cold-runs 5 --rss-calls 1000 --json $(RESULTS)/quick/core_loop.json
	$(BIN)/python bench/cold_start.py --runs 10
	$(BIN)/python bench/fan_out.py --inputs 1000 --runs 2 --json $(RESULTS)/quick/fan_out.json
	$(BIN)/python bench/throughput.py --calls 500 --map-inputs 1000 --runs 2 --warmup 200 \
		--json $(RESULTS)/quick/throughput.json
	$(BIN)/python bench/placement.py --nodes 100 --rounds 500
	$(BIN)/python bench/compare.py $(RESULTS)/quick

# Peers on the same machine, each in a venv of its own: their dependencies are not the project's (Celery
# needs a redis-py that arq, in the project's venv, refuses).
PEERS := bench/.venv-peers
CELERY := bench/.venv-celery
bench-venv-peers:
	test -x $(PEERS)/bin/python || { python3 -m venv $(PEERS) && $(PEERS)/bin/pip install -q -r bench/peers-requirements.txt; }

bench-venv-celery:
	test -x $(CELERY)/bin/python || { python3 -m venv $(CELERY) && $(CELERY)/bin/pip install -q -r bench/celery-requirements.txt; }

bench-peers: bench-venv-peers
	$(PEERS)/bin/python bench/peers.py

bench-celery: bench-venv-celery
	$(CELERY)/bin/python bench/celery_peer.py
