# Two commands do all set-up: `make dev` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
SYNCED := $(VENV)/.synced
PORT ?= 5002
DEVKIT_CONFIG ?= devkit.yaml

.PHONY: setup dev dev-serverless test check package clean

# Re-sync the venv whenever the lock or the bootstrap changes.
$(SYNCED): pyproject.toml uv.lock scripts/bootstrap.sh
	@scripts/bootstrap.sh
	@touch $@

setup: $(SYNCED)

## make dev: run the plugin behind the local Dify stand-in with the demo apps
dev: $(SYNCED)
	@exec $(PY) -m devkit . --config $(DEVKIT_CONFIG) --port $(PORT) $(DEVKIT_ARGS)

## make dev-serverless: the same, with the plugin in Dify's serverless mode
dev-serverless: DEVKIT_ARGS += --serverless
dev-serverless: dev

## make test: every test
test: $(SYNCED)
	@$(PY) -m pytest $(PYTEST_ARGS)

## make check: validate the plugin the way Dify's SDK and daemon will
check: $(SYNCED)
	@$(PY) -m devkit.check .

## make package: check, then build dist/<name>-<version>.difypkg
package: $(SYNCED)
	@$(PY) -m devkit.package . -o dist

clean:
	rm -rf $(VENV) .cache dist .pytest_cache
