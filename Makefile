# tidebox developer commands. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help install browser demo test test-fast lint format bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/tidebox: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv  # uv resolves and installs in ~12 s here; pip took ~80
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/uv pip install --quiet --compile-bytecode -e '.[dev]'
	@touch $@

install: $(BIN)/tidebox ## Create .venv and install tidebox with its dev tools

demo: install ## Install, then run the whole pipeline once (tidebox demo)
	$(BIN)/tidebox demo

browser: ## Debian's chromium, which the report's test opens (installed when missing; root)
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

test: install browser ## Install, then run the whole test suite (real Kafka, real Flink, chromium)
	$(BIN)/python -m pytest

test-fast: install ## Only the tests that need neither Kafka nor Flink
	$(BIN)/python -m pytest -m "not integration and not flink"

lint: install ## Ruff (lint + format check), mypy and the import layers (lint-imports)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install ## Install the peers (Quix Streams) and run the benchmarks under bench/
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/uv pip install --quiet --compile-bytecode -e '.[dev,bench]'
	$(BIN)/python bench/rcf_speed.py
	$(BIN)/tidebox up
	$(BIN)/python bench/window_throughput.py
	$(BIN)/python bench/sink_throughput.py
	$(BIN)/python bench/replay_throughput.py

clean: ## Stop the embedded broker and remove the state folder (jars, Kafka data, bucket)
	-$(BIN)/tidebox down
	rm -rf .tidebox
