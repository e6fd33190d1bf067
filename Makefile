# Every target builds the virtual environment it needs; `make demo` and `make test` are the two
# commands of the README's quick start.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8787

.PHONY: demo test lint typecheck unit bench clean functions-table mutation mutation-pipeline

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[emulator,dev]'
	touch $(STAMP)

demo: $(STAMP)  ## the emulator with a demo tenant on SQLite (make demo PORT=8795: another port)
	$(BIN)/mcapi emulator serve --demo --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup -q -rs

test: lint typecheck unit  ## everything CI runs

functions-table: $(STAMP)  ## rewrite src/mcapi/functions.json from the emulator's function table
	$(BIN)/python -m mcapi.emulator._function_index

MUTMUT := $(BIN)/pip install --quiet 'mutmut>=3.8,<3.9' && $(BIN)/mutmut

mutation: $(STAMP)  ## mutmut over the catalogue and the client's core ([tool.mutmut]; ~20 min)
	$(MUTMUT) run --max-children 2 'mcapi._codes.*' 'mcapi.client.*'
	$(BIN)/mutmut results

mutation-pipeline: $(STAMP)  ## mutmut over the emulator's request pipeline ([tool.mutmut])
	$(MUTMUT) run --max-children 2 'mcapi.emulator._pipeline.*'
	$(BIN)/mutmut results

bench: $(STAMP)
	$(BIN)/python bench/emulator_throughput.py

clean:
	rm -rf $(VENV) build src/*.egg-info .mypy_cache .ruff_cache mutants
