# Two commands on a fresh machine: `make demo` builds the demo, `make test` runs every test.
# Both create the virtual environment and install the pinned requirements first.

VENV := .venv
PYTHON := $(VENV)/bin/python
DBT := $(VENV)/bin/dbt
DEMO_VARS := {crm_using_demo_data: true}
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: demo test lint unit-test pytest test-engines bench clean

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt
	touch $@

demo: $(VENV)/.installed
	$(DBT) seed --vars '$(DEMO_VARS)'
	$(DBT) build --vars '$(DEMO_VARS)' --exclude resource_type:seed
	@echo "Demo built into $${CRM_DUCKDB_PATH:-crm_retention.duckdb}"

lint: $(VENV)/.installed
	$(VENV)/bin/sqlfluff lint models macros tests/unit integration_tests/models

test: $(VENV)/.installed lint
	$(PYTHON) -m pytest tests/python -q -p no:cacheprovider

clean:
	rm -rf target logs dbt_packages crm_retention.duckdb integration_tests/target integration_tests/logs
