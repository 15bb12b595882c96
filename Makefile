# Two commands on a fresh machine: `make demo` builds the demo, `make test` runs every test.
# Both create the virtual environment and install the pinned requirements first.

VENV := .venv
PYTHON := $(VENV)/bin/python
DBT := $(VENV)/bin/dbt
# The standalone demo loads the demo seeds and turns the semantic layer on (mf reads it); it
# reports in USD and converts its EUR and GBP orders with the demo's exchange rates.
DEMO_VARS := {crm_using_demo_data: true, crm_using_semantic_layer: true, crm_reporting_currency: USD, crm_using_exchange_rates: true, crm_segments: [acquisition_channel, country]}
DASHBOARD_PORT ?= 8501
# Served on this machine only; DASHBOARD_ADDRESS=0.0.0.0 to serve the network.
DASHBOARD_ADDRESS ?= localhost
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: demo docs dashboard chromium test test-slow test-min-dbt lint lint-incremental unit-test pytest test-engines bench bench-engines clean

# requirements-test.txt holds test-only packages (never imported by a model).
$(VENV)/.installed: requirements.txt requirements-test.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt -r requirements-test.txt
	touch $@

# The BI layer (MetricFlow, Streamlit, selenium) on top of the core requirements.
$(VENV)/.installed-bi: $(VENV)/.installed requirements-bi.txt
	$(PYTHON) -m pip install --quiet -r requirements-bi.txt
	touch $@

demo: $(VENV)/.installed
	$(DBT) seed --vars '$(DEMO_VARS)'
	$(DBT) build --vars '$(DEMO_VARS)' --exclude resource_type:seed
	@echo "Demo built into $${CRM_DUCKDB_PATH:-crm_retention.duckdb}"

# The dbt docs site as one self-contained file, target/static_index.html (docs of the demo
# build: run `make demo` first for a catalog with column types).
docs: $(VENV)/.installed
	$(DBT) docs generate --static --vars '$(DEMO_VARS)'
	@echo "Docs site: target/static_index.html"

# The dashboard over the marts of the demo DuckDB file (CRM_DUCKDB_PATH), or of any warehouse
# through CRM_DASHBOARD_URL (docs/bi.md). Run `make demo` first.
dashboard: $(VENV)/.installed-bi
	$(VENV)/bin/streamlit run dashboard/app.py --server.headless true --server.address $(DASHBOARD_ADDRESS) \
		--server.port $(DASHBOARD_PORT) --browser.gatherUsageStats false

# Debian's Chromium and its driver for the browser test, installed when missing (CI runs as root).
chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

# sqlfluff lints the files that compile to one query: models and singular tests. macros/ (the
# generic tests too, in macros/generic_tests/) holds only {% macro %} / {% test %} blocks, which
# render to nothing on their own, and integration_tests/ is a separate dbt project this project's
# templater cannot compile.
# $(wildcard) drops a path that does not exist. The dbt templater compiles like dbt, so it gets
# a profile (DBT_PROFILES_DIR, exported above) and its own scratch DuckDB file unless one is set.
LINT_PATHS := $(wildcard models tests/singular)

# Compiling is quick (about 6 s for every file, in the main process); parsing and linting the
# compiled SQL is where the time goes (about 70 s of CPU), and those run in worker processes:
# --processes 0 uses every core. Before it, a check of every tracked Markdown file's code fences
# (scripts/check_markdown.py: each fence closed, nothing after a closing fence).
lint: export CRM_DUCKDB_PATH ?= $(CURDIR)/target/sqlfluff.duckdb
lint: $(VENV)/.installed
	$(PYTHON) scripts/check_markdown.py
	mkdir -p $(dir $(CRM_DUCKDB_PATH))
	$(VENV)/bin/sqlfluff lint --processes 0 $(LINT_PATHS)
	$(MAKE) lint-incremental

# One incremental compile, which the dbt templater never sees (is_incremental() needs the table):
# base_crm__orders built once in incremental mode over an empty text-typed raw_orders in a
# scratch DuckDB file, compiled again, and the compiled SQL linted as plain SQL (from stdin, as
# target/ is in .sqlfluffignore). Its size is printed: it stays under 50 KB. Besides the rules
# .sqlfluff leaves out, this lint leaves out what only generated code does: the layout of macro
# output, the types dbt writes (TEXT), quoted raw column names and dbt's own `::` in datediff.
LINT_INCREMENTAL := $(CURDIR)/target/lint-incremental
LINT_INCREMENTAL_EXCLUDED := ambiguous.column_count,structure.column_order,structure.join_condition_order,ambiguous.column_references,ambiguous.order_by,layout,capitalisation.types,references.quoting,convention.casting_style
LINT_INCREMENTAL_DBT := --vars '{crm_incremental: true}' --select base_crm__orders --target-path $(LINT_INCREMENTAL)/target
lint-incremental: export CRM_DUCKDB_PATH := $(LINT_INCREMENTAL)/crm.duckdb
lint-incremental: $(VENV)/.installed
	rm -rf $(LINT_INCREMENTAL) && mkdir -p $(LINT_INCREMENTAL)
	$(PYTHON) -c "import duckdb; duckdb.connect('$(CRM_DUCKDB_PATH)').execute('create table raw_orders \
		(order_id text, customer_id text, ordered_at text, status text, amount text, refunded_amount text, currency text, updated_at text)')"
	$(DBT) --quiet run $(LINT_INCREMENTAL_DBT) --log-path $(LINT_INCREMENTAL)/logs
	$(DBT) --quiet compile $(LINT_INCREMENTAL_DBT) --log-path $(LINT_INCREMENTAL)/logs > /dev/null
	wc -c $(LINT_INCREMENTAL)/target/compiled/crm_retention/models/staging/crm/base/base_crm__orders.sql
	$(VENV)/bin/sqlfluff lint --templater raw --exclude-rules $(LINT_INCREMENTAL_EXCLUDED) - < $(LINT_INCREMENTAL)/target/compiled/crm_retention/models/staging/crm/base/base_crm__orders.sql

# The fast suite: lint and every test not marked slow (pytest settings and markers:
# pyproject.toml). It ends with how many tests cover the package, the oracle and the generators.
# Test files run two at a time (pytest-xdist, one file per worker so a file's shared builds are
# built once); every build has its own folder and DuckDB file. PYTEST_WORKERS=0 runs them in turn.
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile
test: $(VENV)/.installed $(VENV)/.installed-bi lint
	$(PYTHON) -m pytest tests/python -q -m "not slow and not engines" --durations=10 $(PYTEST_PARALLEL)

# The slow suite: the tests marked slow, the lowest claimed dbt-core, then the engines comparison.
# pytest exits 5 when no test is marked slow; that is not a failure here.
# The incremental property test's sequences (CRM_SEQUENCES, default 50) and drift scenarios run
# two at a time (pytest-xdist): each is a handful of small dbt runs in its own directory.
INCREMENTAL_TESTS := tests/python/test_incremental_sequences.py tests/python/test_incremental_drifts.py
test-slow: $(VENV)/.installed $(VENV)/.installed-bi chromium
	$(PYTHON) -m pytest tests/python -q -m "slow and not engines" --durations=10 $(PYTEST_PARALLEL) \
		$(addprefix --ignore=,$(INCREMENTAL_TESTS)) || [ $$? -eq 5 ]
	$(PYTHON) -m pytest $(INCREMENTAL_TESTS) -q -m "slow and not engines" -n $(PYTEST_WORKERS)
	$(MAKE) test-min-dbt
	$(MAKE) test-engines

# The lowest dbt-core that require-dbt-version claims (requirements-min-dbt.txt), in a venv of
# its own: the demo is seeded and built with it, then the reference tests build with it
# (CRM_DBT) and compare every mart with the Python reference. The other grains of the small shop
# and the switched-off sources are left to the pinned dbt: they exercise the SQL, not dbt.
MIN_DBT_TESTS ?= -k "not (small_shop and (day or month or quarter or year)) and not optional_sources"
MIN_DBT_VENV := .venv-min-dbt
MIN_DBT := $(CURDIR)/$(MIN_DBT_VENV)/bin/dbt
MIN_DBT_VERSION := $(shell sed -n 's/^dbt-core==//p' requirements-min-dbt.txt)

$(MIN_DBT_VENV)/.installed: requirements-min-dbt.txt
	python3 -m venv $(MIN_DBT_VENV)
	$(MIN_DBT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MIN_DBT_VENV)/bin/python -m pip install --quiet -r requirements-min-dbt.txt
	touch $@

# A fresh DuckDB file and target each run: dbt-core 1.10.8's partial parsing loses metrics whose
# YAML changed since the last run ("metric ... does not exist"); a full parse reads them.
test-min-dbt: export CRM_DUCKDB_PATH := $(CURDIR)/target/min-dbt/crm_retention.duckdb
test-min-dbt: export DBT_TARGET_PATH := $(CURDIR)/target/min-dbt/target
test-min-dbt: $(VENV)/.installed $(MIN_DBT_VENV)/.installed
	$(MIN_DBT) --version | grep -q "installed: $(MIN_DBT_VERSION)"
	mkdir -p $(dir $(CRM_DUCKDB_PATH)) && rm -rf $(CRM_DUCKDB_PATH) $(DBT_TARGET_PATH)
	$(MIN_DBT) seed --vars '$(DEMO_VARS)'
	$(MIN_DBT) build --vars '$(DEMO_VARS)' --exclude resource_type:seed
	CRM_DBT=$(MIN_DBT) $(PYTHON) -m pytest tests/python/test_marts_vs_reference.py -q $(MIN_DBT_TESTS) -n $(PYTEST_WORKERS)

# The demo on DuckDB, PostgreSQL, Spark, Snowflake (the fakesnow emulator) and PostgreSQL running
# the Redshift macros, every mart and staging model compared row by row, and typed time zones on
# each (docs/engines.md). Installs PostgreSQL, Java and the adapters
# when missing (Snowflake's in .venv-snowflake); the PostgreSQL cluster and the emulator live in a
# temp dir for the length of the run.
test-engines: $(VENV)/.installed
	VENV=$(CURDIR)/$(VENV) bash scripts/engines/engines.sh test $(ENGINES_ARGS)

# Scale benchmark (docs/benchmark.md): the build beside the engine floor, the pandas and polars
# peers and the DuckDB program (benchmarks/), each figure beside its target.
# make bench SIZES="1000000 10000000 50000000" BENCH_ARGS="--integer-ids"
SIZES ?= 1000000 10000000
BENCH_ARGS ?=
bench: $(VENV)/.installed
	$(PYTHON) scripts/benchmark.py --sizes $(SIZES) $(BENCH_ARGS)

# Engine benchmark (docs/engines.md): the same generated orders on DuckDB, PostgreSQL and Spark,
# every issue target beside its figure; Spark up to 1M orders. Installs the engines as
# test-engines does: make bench-engines ENGINE_SIZES="100000 1000000".
ENGINE_SIZES ?= 100000 1000000 10000000
ENGINE_BENCH_ARGS ?=
bench-engines: $(VENV)/.installed
	VENV=$(CURDIR)/$(VENV) bash scripts/engines/engines.sh install
	$(PYTHON) scripts/benchmark_engines.py --sizes $(ENGINE_SIZES) $(ENGINE_BENCH_ARGS)

clean:
	rm -rf target logs dbt_packages crm_retention.duckdb integration_tests/target integration_tests/logs \
		spark-warehouse metastore_db derby.log
