# Two commands do all the set-up: `make run` (the main demo) and `make test` (the whole suite).
# Each creates the project's virtual environment if it is missing, installs equinet into it (again only when
# setup.cfg or pyproject.toml changed), then runs. GPU users: create the venv with your own torch build first
# (`python3 -m venv .venv && .venv/bin/pip install torch`); an installed torch is never replaced.
#
#   make run  [ARGS="compare --full"]     make test [PYTEST_ARGS="-x tests/nn"]
#   make docs                             (the docs site, strict)
#   make lint                             (ruff, mypy and the docstrings' >>> examples)
#   make wheel-check                      (build sdist + wheel, install the wheel in a clean venv, smoke test)

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
ARGS ?= compare
PYTEST_ARGS ?=

PY := $(VENV)/bin/python
DEPS := setup.cfg pyproject.toml

.PHONY: run test lint venv docs wheel-check clean-venv help

help:
	@echo "make run     - set up $(VENV) if needed and run the main demo (python -m equinet compare)"
	@echo "make test    - set up $(VENV) with the test extras if needed and run the test suite"
	@echo "make docs    - build the docs site in strict mode into site/ (own venv .venv-docs with torch and equinet:"
	@echo "               the API reference is read from the source, the gallery's examples run)"
	@echo "make lint    - ruff, mypy (settings in pyproject.toml) and the doctests of the package"
	@echo "make wheel-check - build the sdist and wheel and smoke-test the wheel outside the source tree"

$(PY):
	$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip >/dev/null 2>&1 || true

# torch first (only if absent: a GPU build the user installed stays), then equinet editable.
$(VENV)/.equinet-run: $(DEPS) | $(PY)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e .
	@touch $@

$(VENV)/.equinet-test: $(DEPS) | $(PY)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[test]"
	@touch $@ $(VENV)/.equinet-run

venv: $(VENV)/.equinet-test

run: $(VENV)/.equinet-run
	$(PY) -m equinet $(ARGS)

test: $(VENV)/.equinet-test
	$(PY) -m pytest -q $(PYTEST_ARGS)

$(VENV)/.equinet-lint: $(DEPS) $(VENV)/.equinet-test
	$(PY) -m pip install -q -e ".[test,lint]"
	@touch $@

lint: $(VENV)/.equinet-lint
	$(PY) -m ruff check equinet
	$(PY) -m mypy
	$(PY) -m pytest -q -p no:cacheprovider --doctest-modules equinet

.venv-docs/.stamp: docs/requirements.txt setup.cfg
	$(PYTHON) -m venv .venv-docs
	.venv-docs/bin/python -m pip install -q -r docs/requirements.txt
	@touch $@

docs: .venv-docs/.stamp
	OMP_NUM_THREADS=1 NO_MKDOCS_2_WARNING=1 .venv-docs/bin/mkdocs build --strict   # the gallery runs 1 thread

wheel-check:
	PYTHON="$(PYTHON)" TORCH="$(TORCH)" bash .ci/wheel-check

clean-venv:
	rm -rf $(VENV)
