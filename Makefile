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

# The tests whose answers depend on the date or the hour, run once more at a night-time instant on the
# eve of Tet (scripts/at_instant.py, Debian's libfaketime), so that none of them comes to depend on when
# the suite runs. The whole suite was run at other instants by hand: docs/internals.md says which.
CLOCK_INSTANT ?= 2027-02-05 23:30
CLOCK_SENSITIVE := tests/unit tests/service/test_status_service.py tests/service/test_status_desk.py \
	tests/service/test_status_departments.py tests/service/test_status_overdue.py \
	tests/service/test_status_reports.py tests/service/test_intake_service.py tests/service/test_notify_service.py \
	tests/service/test_postal_service.py tests/service/test_gateway_desk.py tests/service/test_catalog_service.py

test: $(STAMP)
	$(BIN)/python scripts/test_prerequisites.py
	$(BIN)/python scripts/at_instant.py "$(CLOCK_INSTANT)" -- $(BIN)/python -m pytest -p no:cacheprovider -q $(CLOCK_SENSITIVE)
	$(BIN)/python -m pytest -p no:cacheprovider tests
	$(BIN)/python -m pytest -p no:cacheprovider --confcutdir=tests/browser tests/browser

unit: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider tests/unit

bench: $(STAMP)
	$(BIN)/python bench/submit_dossiers.py

clean:
	rm -rf $(VENV) var
