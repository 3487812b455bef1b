# Two commands a newcomer needs: `make run` and `make test`. Everything else is a step they call.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PACKAGES := -e libs/contracts -e libs/common -e services/catalog -e services/intake -e services/status -e services/notify -e services/postal -e services/carrier_simulator -e services/gateway -e adapters/department
STAMP  := $(VENV)/.installed

.PHONY: run test venv unit lint-deploy bench clean

$(STAMP): requirements.txt requirements-dev.txt libs/*/pyproject.toml services/*/pyproject.toml adapters/*/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt $(PACKAGES)
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/python scripts/run_local.py

test: $(STAMP)
	$(BIN)/python scripts/test_prerequisites.py
	$(BIN)/python -m pytest -p no:cacheprovider tests

unit: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider tests/unit

bench: $(STAMP)
	$(BIN)/python bench/submit_dossiers.py

clean:
	rm -rf $(VENV) var
