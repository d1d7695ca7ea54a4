# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,bench,notebook,postgres]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m autotune demo

lint: $(STAMP)
	$(PY) -m ruff check autotune patcher dylibs tests examples bench
	$(PY) -m mypy --strict autotune patcher dylibs

test: lint
	$(PY) -m pytest -q

soak: $(STAMP)
	$(PY) -m pytest -q --soak -m soak

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
