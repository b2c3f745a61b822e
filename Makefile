# Two commands a newcomer needs: `make run` and `make test`. Both build .venv from scratch when absent.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PYTEST_WORKERS ?= auto

.PHONY: run test install install-dev lint clean

$(PY):
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

# torch first and pinned exactly: left to a range, the resolver pulls the CUDA build (several GB).
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e .
	touch $@

$(DEV_STAMP): $(STAMP)
	$(PIP) install -e '.[dev]'
	touch $@

install: $(STAMP)

install-dev: $(DEV_STAMP)

run: $(STAMP)
	$(VENV)/bin/helios serve --demo

test: $(DEV_STAMP)
	$(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check src tests && $(VENV)/bin/ruff format --check src tests

clean:
	rm -rf $(VENV)
