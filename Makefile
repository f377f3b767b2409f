# OneStory's two set-up commands: `make up` and `make test` (see README.md).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: up test install lint bench clean

$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

install: $(BIN)/.installed

up: install
	$(BIN)/onestory up --demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n auto

# The performance benchmark (bench/README.md): a fresh OneStory, the synthetic population,
# every phase under wrk; BENCH_ARGS="--residents 40000 --database-url postgresql+asyncpg://..."
bench: install
	$(BIN)/python -m bench.harness $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .onestory .onestory-bench .pytest_cache .mypy_cache .ruff_cache
