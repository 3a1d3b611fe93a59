PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test check lint types fmt bench clean venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)  ## run the whole system on embedded defaults
	$(BIN)/anxin demo $(ARGS)

test: $(STAMP)  ## what CI runs (installs mosquitto/chromium first when missing and run as root)
	scripts/system-deps
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy contracts edge cloud firmware_sim anxin broker tools

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint types test  ## the one gate

bench: $(STAMP)  ## performance and accuracy figures, written to BENCHMARKS.md
	$(BIN)/anxin bench all --out BENCHMARKS.md

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
