# Two commands do all set-up: `make dev` and `make test` (see README.md and docs/development.md).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
DEVKIT := $(VENV)/bin/dify-devkit
SYNCED := $(VENV)/.synced
PORT ?= 5002
DEVKIT_CONFIG ?= dev/devkit.yaml
# the code that is linted and type-checked: what ships, and the devkit. A copy of the template
# (docs/template.md) has no gallery/ or bench/, and may have no devkit/ (it installs the
# devkit as a package, dev/devkit.txt): the targets below use what is there.
LINTED := main.py endpoints provider tests $(wildcard devkit gallery bench)

.PHONY: setup dev dev-serverless test test-fast lint check package mutate bench fuzz soak clean

# Re-sync the venv whenever the lock, a project file or the bootstrap changes.
$(SYNCED): pyproject.toml uv.lock dev/bootstrap.sh \
		$(wildcard devkit/pyproject.toml dev/devkit.txt tests/clients/node/package-lock.json)
	@dev/bootstrap.sh
	@touch $@

setup: $(SYNCED)

## make dev: run the plugin behind the local Dify stand-in with the demo apps
dev: $(SYNCED)
	@exec $(DEVKIT) run . --config $(DEVKIT_CONFIG) --port $(PORT) $(DEVKIT_ARGS)

## make dev-serverless: the same, with the plugin in Dify's serverless mode
dev-serverless: DEVKIT_ARGS += --serverless
dev-serverless: dev

## make test: every test (the plugin's and the devkit's), in parallel: TEST_WORKERS
## pytest-xdist workers (default 3: one per core plus one, which fills the waits on
## streams and start-ups; TEST_WORKERS=0 runs in this process), each taking a
## whole test file at a time (--dist loadfile: a module's devkit starts once), the slowest
## files first (tests/conftest.py: SLOW_FIRST)
TEST_WORKERS ?= 3
test: $(SYNCED)
	@$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

## make test-fast: the edit loop (< 20 s): unit tests and in-process endpoint tests
## (tests/unit, tests/unit/endpoints), no devkit, no browser, no plugin process
test-fast: $(SYNCED)
	@$(PY) -m pytest tests/unit -q $(PYTEST_ARGS)

## make fuzz: the long random fuzz of every route, in both install methods (FUZZ_EXAMPLES
## per install method, 10,000 by default: 20,000 in all; ~10-20 min), plus the endpoint
## fuzzers under the random profile. Failures it finds are kept in
## tests/robustness/hypothesis-db (commit them: they come back first on every run);
## the outcome counts go to $(FUZZ_REPORT). `make test` runs the same fuzz derandomised, small.
FUZZ_EXAMPLES ?= 10000
FUZZ_REPORT ?= .cache/fuzz-report.json
fuzz: $(SYNCED)
	@if [ ! -d tests/robustness ]; then \
		echo "make fuzz: skipped: no tests/robustness/ here (the gallery's fuzz tests; a copy writes its own)"; \
	else \
		mkdir -p $(dir $(FUZZ_REPORT)) && \
		HYPOTHESIS_PROFILE=random FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_REPORT=$(FUZZ_REPORT) \
			$(PY) -m pytest tests/robustness/test_fuzz_every_route.py tests/endpoints/test_fuzz.py -q -s --timeout=3600 \
			$(PYTEST_ARGS) && \
		cat $(FUZZ_REPORT); \
	fi

## make soak: 2,000 sequential + 200 concurrent requests mixed across every route
## (streaming, blocking, errors, auth failures, disconnects) in both install methods;
## prints failures, plugin RSS / threads / greenlets / fds after warm-up and at the end,
## sessions left open (figures also in $(SOAK_REPORT)). `make test` runs a short soak.
SOAK_SEQUENTIAL ?= 2000
SOAK_CONCURRENT ?= 200
SOAK_REPORT ?= .cache/soak-report.json
soak: $(SYNCED)
	@if [ ! -d tests/robustness ]; then \
		echo "make soak: skipped: no tests/robustness/ here (the gallery's soak test; a copy writes its own)"; \
	else \
		mkdir -p $(dir $(SOAK_REPORT)) && \
		SOAK_SEQUENTIAL=$(SOAK_SEQUENTIAL) SOAK_CONCURRENT=$(SOAK_CONCURRENT) SOAK_REPORT=$(SOAK_REPORT) \
			$(PY) -m pytest tests/robustness/test_soak.py -q -s --timeout=3600 $(PYTEST_ARGS) && \
		cat $(SOAK_REPORT); \
	fi

## make mutate: mutation testing of what ships (provider/, gallery/, endpoints/, main.py) with the
## fast tests (tests/unit); config in pyproject.toml [tool.mutmut], results in docs/testing.md.
## (mutmut walks only the source paths that exist: in a copy, provider/, endpoints/ and main.py.)
## Not part of `make test`. MUTATE_CHILDREN=2 on a 2-core machine.
MUTATE_CHILDREN ?= 2
mutate: $(SYNCED)
	@rm -rf mutants
	@$(VENV)/bin/mutmut run --max-children $(MUTATE_CHILDREN)
	@$(VENV)/bin/mutmut results

## make bench: the gallery's streaming cost next to two baseline endpoints, in one run
## (stdio and serverless; see docs/benchmarks.md): a table, bench/out/bench.json and
## bench/out/bench.png. QUICK=1 runs a small version (< 1 minute). Not part of `make test`
## (which runs the QUICK one as a smoke test).
BENCH_OUT ?= bench/out
bench: $(SYNCED)
	@if [ ! -f bench/run.py ]; then \
		echo "make bench: skipped: no bench/run.py here (the gallery's benchmark; a copy writes its own)"; \
	else \
		$(PY) bench/run.py --out $(BENCH_OUT) $(if $(QUICK),--quick,) $(BENCH_ARGS); \
	fi

## make lint: formatting, lint rules and types
lint: $(SYNCED)
	@$(VENV)/bin/ruff format --check $(LINTED)
	@$(VENV)/bin/ruff check $(LINTED)
	@$(VENV)/bin/mypy
	@if [ -d devkit ]; then $(VENV)/bin/mypy devkit/src; fi
	@if [ -d gallery ]; then $(VENV)/bin/mypy gallery; fi
	@if [ -f bench/run.py ]; then $(VENV)/bin/mypy bench/run.py; fi

## make check: validate the plugin the way Dify's SDK and daemon will
check: $(SYNCED)
	@$(DEVKIT) check .

## make package: check, then build dist/<name>-<version>.difypkg
package: $(SYNCED)
	@$(DEVKIT) package . -o dist

clean:
	rm -rf $(VENV) .cache dist .pytest_cache .mypy_cache .ruff_cache mutants bench/out
