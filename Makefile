# medcls_nb: the two commands the README gives are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export PYTHONUNBUFFERED := 1
# the project's verified MedMNIST copies, where this checkout sits beside them (notebooks and tests find data through it)
ifneq ($(wildcard ../shared/data/medmnist/*.npz),)
export MEDCLS_DATA ?= $(abspath ../shared/data/medmnist)
endif

.PHONY: demo test export sync-check nbtest pytest docs readme lab clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.py settings.ini
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python setup.py settings.ini
	$(BIN)/pip install -e '.[dev]'
	touch $@ $(VENV)/.installed

## make demo: train, evaluate, calibrate and report on the built-in synthetic data
demo: $(VENV)/.installed
	$(BIN)/medcls demo --out runs/demo

## make test: notebooks and library in sync, notebook tests, then pytest (last)
test: $(VENV)/.installed-dev sync-check nbtest pytest

sync-check: $(VENV)/.installed-dev
	$(BIN)/python tests/check_export.py

nbtest: $(VENV)/.installed-dev
	OMP_NUM_THREADS=1 $(BIN)/nbdev_test --n_workers 2 --timing

pytest: $(VENV)/.installed-dev
	OMP_NUM_THREADS=1 $(BIN)/pytest -q tests

export: $(VENV)/.installed-dev
	$(BIN)/nbdev_export

## make docs: the docs site, offline, into _docs/ (nbdev proc_nbs + smalldocs); README from index.ipynb
docs: $(VENV)/.installed-dev
	$(BIN)/python tools/build_docs.py

readme: $(VENV)/.installed-dev
	$(BIN)/python tools/build_docs.py --readme-only

## make lab: JupyterLab on the notebooks
lab: $(VENV)/.installed-dev
	$(BIN)/jupyter lab nbs

clean:
	rm -rf _docs _proc runs .pytest_cache
