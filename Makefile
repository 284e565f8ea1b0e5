# Cartback: two commands on a fresh machine.
#   make demo   set up (virtualenv + install) and play the demo on embedded defaults
#   make test   run the test suite (also on PostgreSQL when CARTBACK_TEST_POSTGRES_URL is set)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup demo serve test lint clean

$(BIN)/cartback: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

setup: $(BIN)/cartback

demo: setup
	$(BIN)/cartback demo

serve: setup
	$(BIN)/cartback serve

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check app platforms scheduler tests bench

clean:
	rm -rf $(VENV) instance cartback-demo-outbox .pytest_cache
