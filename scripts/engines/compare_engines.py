"""Build the demo on DuckDB, PostgreSQL, Spark and Snowflake (the fakesnow emulator), and check that
every mart has the same rows.

Each engine gets the same two commands as `make demo` (seed, then build without seeds), with its
own target, log folder and working directory under one scratch directory, so nothing is written
into the repository and no other build in the tree is disturbed. Then every model named crm__*
or stg_crm__* is read from each engine and compared with DuckDB, row by row, matched on the
model's key, and every mart's column types are compared with DuckDB's, after translating each
engine's names for the same type (a type a dashboard sees: bigint, decimal(38,6), double, string,
date, boolean, timestamp). Exits 1 on any difference, printing the model, the row's key and the
column with both values.

Snowflake runs from its own virtual environment (CRM_SNOWFLAKE_VENV, default .venv-snowflake:
dbt-snowflake pins an older certifi than the dashboard's selenium needs), against the fakesnow
server that engines.sh starts (scripts/engines/fakesnow_server.py).

Run it through `make test-engines` (scripts/engines/engines.sh test), which installs the adapters
and starts a throw-away PostgreSQL cluster and the Snowflake emulator first. Usage:

    compare_engines.py [--engines duckdb,postgres,spark,snowflake] [--work-dir DIR] [--keep] [--project-dir DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import math
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
project_dir = ROOT
BIN = Path(sys.executable).parent
DEMO_VARS = "{crm_using_demo_data: true, crm_reporting_currency: USD, crm_segments: [acquisition_channel, country]}"
REFERENCE = "duckdb"
ENGINES = ("duckdb", "postgres", "spark", "snowflake", "redshift")
# Built through the test-only host project, which holds their test configurations: `redshift` is
# PostgreSQL running the package's redshift__ macros, in a schema of its own; `snowflake` writes
# incremental temporary relations as transient tables (fakesnow rejects qualified temporary ones).
HOST_PROJECT = Path("scripts/engines/host")
HOSTED = {"redshift", "snowflake"}
TARGETS = {"redshift": "postgres"}
PG_SCHEMAS = {"redshift": "crm_redshift"}
# Only staging calls the macros Redshift has its own versions of (parsing, the base models), so
# the Redshift run builds and compares the staging models.
STAGING_ONLY = {"redshift"}
# PostgreSQL's regexp_replace without 'g' replaces the first match only (Redshift's every match):
# on PostgreSQL the Redshift version cannot stand for Redshift, so it is not routed.
NOT_ROUTED_TO_REDSHIFT = {"regex_replace_all"}
# After its demo build, each engine named in CRM_ENGINES_INCREMENTAL (comma-separated; default
# snowflake, the engine whose incremental mode nothing else tests) runs the demo in incremental
# mode twice (a full refresh, then an incremental run) and is compared again.
INCREMENTAL = {name for name in os.environ.get("CRM_ENGINES_INCREMENTAL", "snowflake").split(",") if name}
# A dbt command that runs longer than this (seconds) fails its engine instead of holding up the run.
DBT_TIMEOUT = int(os.environ.get("CRM_ENGINES_DBT_TIMEOUT", "1800"))
INCREMENTAL_VARS = DEMO_VARS[:-1] + ", crm_incremental: true}"

# Time zones: on every engine, the host project's raw orders (seeds/tz_orders.csv) typed with a
# time zone (timestamptz; Snowflake's TIMESTAMP_TZ for ordered_at and TIMESTAMP_LTZ for
# updated_at; Spark's timestamp), staged in a schema of their own, reported in Los Angeles time
# by week. Each offset moves the UTC date, and orders a minute either side of local midnight on
# both daylight-saving changes of 2024 and at a month end move the local date and week. The UTC
# values, the local dates and the weekly order counts, worked by hand, are what stg_crm__orders
# and crm__aov must hold (tests/python/test_timezone.py checks every mart on DuckDB).
TIME_ZONE_VARS = ("{crm_engines_time_zones: true, crm_orders_identifier: tz_orders, crm_customers_identifier: tz_customers,"
                  " crm_using_nps: false, crm_using_marketing_spend: false, crm_using_predictions: false,"
                  " crm_timezone: America/Los_Angeles, crm_period: week}")
TIME_ZONE_MODELS = ("stg_crm__orders", "crm__aov")
# order id: (ordered_at in UTC, order_date in Los Angeles)
TIME_ZONE_ORDERS = {
    "tz_west": (dt.datetime(2024, 3, 6, 1, 30), dt.date(2024, 3, 5)),  # 2024-03-05 23:30 at -02:00: the next UTC day
    "tz_east": (dt.datetime(2024, 3, 5, 22, 30), dt.date(2024, 3, 5)),  # 2024-03-06 00:30 at +02:00: the UTC day before
    "tz_utc": (dt.datetime(2024, 3, 5, 12, 0), dt.date(2024, 3, 5)),
    # spring forward on 2024-03-10: -08:00 before 10:00 UTC, -07:00 after
    "tz_spring_1": (dt.datetime(2024, 3, 10, 7, 59), dt.date(2024, 3, 9)),
    "tz_spring_2": (dt.datetime(2024, 3, 10, 8, 0), dt.date(2024, 3, 10)),
    "tz_spring_3": (dt.datetime(2024, 3, 11, 6, 59), dt.date(2024, 3, 10)),  # Sunday in LA, Monday in UTC
    "tz_spring_4": (dt.datetime(2024, 3, 11, 7, 0), dt.date(2024, 3, 11)),
    # fall back on 2024-11-03: -07:00 before 09:00 UTC, -08:00 after
    "tz_fall_1": (dt.datetime(2024, 11, 3, 6, 59), dt.date(2024, 11, 2)),
    "tz_fall_2": (dt.datetime(2024, 11, 3, 7, 0), dt.date(2024, 11, 3)),
    "tz_fall_3": (dt.datetime(2024, 11, 4, 7, 59), dt.date(2024, 11, 3)),  # Sunday in LA, Monday in UTC
    "tz_fall_4": (dt.datetime(2024, 11, 4, 8, 0), dt.date(2024, 11, 4)),
    "tz_month_end": (dt.datetime(2024, 4, 1, 6, 30), dt.date(2024, 3, 31)),  # March in LA, April in UTC
}
# Weeks start on Monday; every other week of crm__aov has no order.
TIME_ZONE_WEEKLY_ORDERS = {dt.date(2024, 3, 4): 6, dt.date(2024, 3, 11): 1, dt.date(2024, 3, 25): 1,
                           dt.date(2024, 10, 28): 3, dt.date(2024, 11, 4): 1}
SNOWFLAKE_VENV = Path(os.environ.get("CRM_SNOWFLAKE_VENV", ROOT / ".venv-snowflake"))
SNOWFLAKE_PORT = "55490"
COMPARED_PREFIXES = ("crm__", "stg_crm__")
# Numbers agree when |a - b| <= TOLERANCE * max(1, |a|, |b|): exact enough for rates, and
# relative for large sums of money.
TOLERANCE = 1e-9
DIFFERENCES_SHOWN = 5

# `dbt seed` on PostgreSQL and Spark reads the CSV through agate, which loads a blank cell
# (spaces only) or the word null as NULL; dbt-duckdb copies the file as it is. Outcomes agree
# (a blank id is missing either way), but the raw text echoed in raw_values differs. Only that
# difference is forgiven, and each one is counted and printed.
SEED_ECHO_COLUMNS = {"raw_values"}
SEED_BLANK_FIELD = re.compile(r"=(\s+|null)(?=; |$)", re.IGNORECASE)

# Predictions: DuckDB fits the models (dbt Python models); every other engine scores in SQL with
# DuckDB's fitted parameters, passed as crm_clv_parameters (supply_fitted_parameters). There the
# prediction columns must equal DuckDB's within SCORED_TOLERANCE (relative), what the fit alone
# gives (log-likelihoods, is_converged) must be null, the fit's note is not compared, and the
# backtest, which needs a fit, is not built.
PREDICTION_COLUMNS: dict[str, set[str]] = {
    "crm__clv_model": {"bgnbd_log_likelihood", "gg_log_likelihood", "is_converged"},
}
SCORED_COLUMNS: dict[str, set[str]] = {
    "crm__clv": {"p_alive", "expected_purchases", "expected_order_value", "predicted_clv", "p_purchase_within_horizon",
                 "p_purchase_within_30_days"},
    "crm__customers": {"p_alive"},
    "crm__at_risk_customers": {"p_alive", "weighted_value_at_stake"},
}
SCORED_TOLERANCE = 1e-6
FIT_ONLY = {"crm__clv_model": {"fit_note"}, "crm__clv_backtest": None, "crm__clv_backtest_tracking": None}

# Row keys of the marts of SPEC.md and the staging models. A model not listed here (a mart added
# later) is keyed by its unique or unique_combination test; one with neither (marketing spend:
# two spends on one day and channel are two rows) is compared as sorted whole rows.
KEYS: dict[str, list[str]] = {
    "crm__retention": ["period_start"],
    "crm__cohort_retention": ["cohort_period", "periods_since_acquisition"],
    "crm__churn": ["customer_id", "churned_on"],
    "crm__revenue_retention": ["period_start"],
    "crm__repeat_rate": ["period_start"],
    "crm__aov": ["period_start"],
    "crm__clv": ["customer_id"],
    "crm__nps": ["period_start"],
    "crm__kpis": ["period_start"],
    "crm__customers": ["customer_id"],
    "crm__clv_model": ["as_of_date"],
    "crm__rejected_rows": ["rejected_row_id"],
    "stg_crm__orders": ["order_id"],
    "stg_crm__customers": ["customer_id"],
    "stg_crm__nps_responses": ["response_id"],
    # The survival views: a curve's key has null parts (the other curves' columns).
    "crm__survival": ["curve", "cohort_period", "segment_name", "segment_value", "days_since_acquisition"],
    "crm__time_to_second_order": ["curve", "cohort_period", "segment_name", "segment_value", "days_since_first_order"],
    "crm__second_order_rates": ["curve", "cohort_period", "segment_name", "segment_value"],
    "crm__cohort_bracket_retention": ["cohort_period", "first_period_since_acquisition", "last_period_since_acquisition"],
    "crm__cohort_retention_by_first_product": ["segment_name", "segment_value", "cohort_period", "periods_since_acquisition"],
}


@dataclass
class Engine:
    name: str
    workdir: Path
    # The incremental runs that follow the demo build, in the same place.
    incremental: bool = False
    # Instead of the demo, the time-zone check (TIME_ZONE_ORDERS), in a place of its own.
    time_zones: bool = False
    seconds: float = 0.0
    ok: bool = False
    failure: str = ""
    tables: dict[str, tuple[list[str], list[tuple]]] = field(default_factory=dict)
    # Column name -> the engine's own type name, for the marts (crm__*).
    types: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def bin(self) -> Path:
        """Where this engine's dbt (and Python) are: Snowflake has a virtual environment of its own."""
        return SNOWFLAKE_VENV / "bin" if self.name == "snowflake" else BIN

    @property
    def label(self) -> str:
        return self.name + (" incremental" if self.incremental else " time zones" if self.time_zones else "")

    @property
    def target(self) -> str:
        return TARGETS.get(self.name, self.name)

    @property
    def project(self) -> Path:
        return project_dir / HOST_PROJECT if self.name in HOSTED or self.time_zones else project_dir

    @property
    def target_path(self) -> Path:
        return self.workdir / "target"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "CRM_TARGET": self.target,
            "CRM_PG_SCHEMA": self.schema(PG_SCHEMAS.get(self.name, os.environ.get("CRM_PG_SCHEMA", "crm"))),
            "CRM_SNOWFLAKE_SCHEMA": self.schema(os.environ.get("CRM_SNOWFLAKE_SCHEMA", "crm")),
            "CRM_SPARK_SCHEMA": self.schema(os.environ.get("CRM_SPARK_SCHEMA", "crm")),
            "CRM_PACKAGES_INSTALL_PATH": str(self.workdir / "dbt_packages"),
            "CRM_DUCKDB_PATH": str(self.workdir / "crm_retention.duckdb"),
            "DBT_TARGET_PATH": str(self.target_path),
            "DBT_LOG_PATH": str(self.workdir / "logs"),
            "DBT_PROFILES_DIR": str(project_dir),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            # Spark binds to loopback only, and its Python side turns timestamps into local
            # datetimes: UTC keeps them equal to what the other engines return.
            "SPARK_LOCAL_IP": "127.0.0.1",
            "TZ": "UTC",
        })
        return env


    def schema(self, default: str) -> str:
        return f"{default}_time_zones" if self.time_zones else default


def run_dbt(engine: Engine, args: list[str], variables: str = DEMO_VARS) -> subprocess.CompletedProcess:
    command = [str(engine.bin / "dbt"), *args, "--project-dir", str(engine.project), "--vars", variables]
    # The working directory matters for Spark: the session keeps metastore_db and
    # spark-warehouse there.
    try:
        return subprocess.run(command, cwd=engine.workdir, env=engine.env(), capture_output=True, text=True,
                              timeout=DBT_TIMEOUT)
    except subprocess.TimeoutExpired as expired:
        output = (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        return subprocess.CompletedProcess(command, 1, f"{output}\nERROR: stopped after {DBT_TIMEOUT} s", "")


def dbt_failure_lines(output: str) -> str:
    keep = [line for line in output.splitlines() if "ERROR" in line or "FAIL" in line or "Error" in line]
    return "\n".join(keep[-25:]) or "\n".join(output.splitlines()[-25:])


def reset_postgres_schema(engine: Engine) -> None:
    """Drop the schema first, so no table from an earlier run (or a removed model) is compared."""
    con = postgres_connection()
    try:
        with con.cursor() as cursor:
            cursor.execute(f'drop schema if exists "{engine.env()["CRM_PG_SCHEMA"]}" cascade')
    finally:
        con.close()


def macros_without_redshift_shim() -> list[str]:
    """The package's redshift__ macros that the host project does not route PostgreSQL to."""
    def names(folder: Path, prefix: str) -> set[str]:
        return {name for path in folder.rglob("*.sql")
                for name in re.findall(r"\{%-?\s*macro\s+" + prefix + r"__(\w+)\s*\(", path.read_text())}
    return sorted(names(project_dir / "macros", "redshift") - names(project_dir / HOST_PROJECT / "macros", "postgres")
                  - NOT_ROUTED_TO_REDSHIFT)


def install_package(engine: Engine) -> None:
    """What `dbt deps` does for the host project's `local:` package, without a dbt process."""
    packages = Path(engine.env()["CRM_PACKAGES_INSTALL_PATH"])
    packages.mkdir(parents=True, exist_ok=True)
    (packages / "crm_retention").symlink_to(project_dir, target_is_directory=True)


def build(engine: Engine) -> None:
    """The demo: `dbt seed` then `dbt build`; for an incremental engine, the two incremental runs."""
    if engine.incremental:
        steps = [(["run", "--full-refresh"], INCREMENTAL_VARS), (["run"], INCREMENTAL_VARS)]
    elif engine.time_zones:
        if engine.workdir.exists():
            shutil.rmtree(engine.workdir)
        engine.workdir.mkdir(parents=True)
        if engine.target == "postgres":
            reset_postgres_schema(engine)
        install_package(engine)
        steps = [(["seed"], TIME_ZONE_VARS), (["run", "--select", *(f"+{model}" for model in TIME_ZONE_MODELS)], TIME_ZONE_VARS)]
    else:
        if engine.workdir.exists():
            shutil.rmtree(engine.workdir)
        engine.workdir.mkdir(parents=True)
        if engine.target == "postgres":
            reset_postgres_schema(engine)
        if engine.name == "redshift" and macros_without_redshift_shim():
            engine.failure = (f"no postgres__ macro in {HOST_PROJECT}/macros routes PostgreSQL to "
                              f"redshift__{', redshift__'.join(macros_without_redshift_shim())}")
            return
        if engine.name in HOSTED:
            install_package(engine)
        # Cautious: a data test that also reads a model outside staging is left out.
        selected = (["--select", "crm_retention.staging", "--indirect-selection", "cautious"]
                    if engine.name in STAGING_ONLY else [])
        steps = [(["seed"], DEMO_VARS), (["build", "--exclude", "resource_type:seed", *selected], DEMO_VARS)]
    started = time.monotonic()
    for args, variables in steps:
        result = run_dbt(engine, args, variables)
        if result.returncode != 0:
            engine.seconds = time.monotonic() - started
            engine.failure = f"dbt {' '.join(args)} failed:\n{dbt_failure_lines(result.stdout + result.stderr)}"
            return
    engine.seconds = time.monotonic() - started
    engine.ok = True


# ---------- which models, keyed how ----------

def compared_models(engine: Engine) -> dict[str, dict]:
    manifest = json.loads((engine.target_path / "manifest.json").read_text())
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"].get("enabled", True)
        and node["config"].get("materialized") != "ephemeral"
        and node["name"].startswith(COMPARED_PREFIXES)
    }


def keys_from_tests(engine: Engine) -> dict[str, list[str]]:
    manifest = json.loads((engine.target_path / "manifest.json").read_text())
    keys: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("test_metadata"):
            continue
        model_id = node.get("attached_node") or next(iter(node["depends_on"]["nodes"]), "")
        model_name = model_id.split(".")[-1]
        kwargs = node["test_metadata"].get("kwargs", {})
        test_name = node["test_metadata"]["name"]
        if test_name == "unique" and kwargs.get("column_name"):
            columns = [kwargs["column_name"]]
        elif "combination_of_columns" in kwargs:
            columns = list(kwargs["combination_of_columns"])
        else:
            continue
        # The narrowest key wins: a single unique column over a combination.
        if model_name not in keys or len(columns) < len(keys[model_name]):
            keys[model_name] = [column.strip('"`').lower() for column in columns]
    return keys


# ---------- reading the tables ----------

def postgres_settings() -> dict[str, str]:
    return {
        "host": os.environ.get("CRM_PG_HOST", "127.0.0.1"),
        "port": os.environ.get("CRM_PG_PORT", "55432"),
        "user": os.environ.get("CRM_PG_USER", "postgres"),
        "password": os.environ.get("CRM_PG_PASSWORD", ""),
        "dbname": os.environ.get("CRM_PG_DBNAME", "crm_retention"),
        "schema": os.environ.get("CRM_PG_SCHEMA", "crm"),
    }


def postgres_connection():
    import psycopg2

    settings = postgres_settings()
    con = psycopg2.connect(**{k: v for k, v in settings.items() if k != "schema"})
    con.autocommit = True
    return con


def read_duckdb(engine: Engine, models: dict[str, dict]) -> None:
    import duckdb

    con = duckdb.connect(str(engine.workdir / "crm_retention.duckdb"), read_only=True)
    try:
        for name, node in models.items():
            cursor = con.execute(f'select * from "{node["schema"]}"."{node["alias"]}"')
            engine.tables[name] = ([d[0].lower() for d in cursor.description], cursor.fetchall())
            columns = con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = ? and table_name = ?",
                [node["schema"], node["alias"]],
            ).fetchall()
            engine.types[name] = {column.lower(): data_type for column, data_type in columns}
    finally:
        con.close()


def read_postgres(engine: Engine, models: dict[str, dict]) -> None:
    con = postgres_connection()
    try:
        with con.cursor() as cursor:
            for name, node in models.items():
                cursor.execute(f'select * from "{node["schema"]}"."{node["alias"]}"')
                engine.tables[name] = ([d[0].lower() for d in cursor.description], cursor.fetchall())
                cursor.execute(
                    "select column_name, data_type, numeric_precision, numeric_scale"
                    " from information_schema.columns where table_schema = %s and table_name = %s",
                    (node["schema"], node["alias"]),
                )
                engine.types[name] = {
                    column.lower(): f"{data_type}({precision},{scale})" if data_type == "numeric" else data_type
                    for column, data_type, precision, scale in cursor.fetchall()
                }
    finally:
        con.close()


def read_in_child(engine: Engine, models: dict[str, dict]) -> None:
    """Reads in a child process of this script (`--read ENGINE`), run by the engine's own Python
    in the build's directory. Spark: dbt's Spark session left its metastore and warehouse there,
    and the child must start after dbt exited (Derby allows one JVM). Snowflake: the connector is
    installed in the Snowflake virtual environment only."""
    request = engine.workdir / "read_request.json"
    output = engine.workdir / "read_result.pickle"
    request.write_text(json.dumps({name: [node["schema"], node["alias"]] for name, node in models.items()}))
    result = subprocess.run(
        [str(engine.bin / "python"), __file__, "--read", engine.name, str(request), str(output)],
        cwd=engine.workdir, env=engine.env(), capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"reading {engine.name} tables failed:\n{result.stderr[-4000:]}")
    with output.open("rb") as handle:
        tables, types = pickle.load(handle)
    engine.tables.update(tables)
    engine.types.update(types)


def spark_reader_main(request_path: str, output_path: str) -> None:
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.enableHiveSupport()
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    tables, types = {}, {}
    for name, (schema, alias) in json.loads(Path(request_path).read_text()).items():
        frame = spark.table(f"{schema}.{alias}")
        tables[name] = ([column.lower() for column in frame.columns], [tuple(row) for row in frame.collect()])
        types[name] = {column.lower(): data_type for column, data_type in frame.dtypes}
    spark.stop()
    with open(output_path, "wb") as handle:
        pickle.dump((tables, types), handle)


def snowflake_connection():
    """A connection to the Snowflake of profiles.yml's snowflake target (by default the emulator)."""
    import snowflake.connector

    settings = {
        "account": os.environ.get("CRM_SNOWFLAKE_ACCOUNT", "fakesnow"),
        "user": os.environ.get("CRM_SNOWFLAKE_USER", "fake"),
        "password": os.environ.get("CRM_SNOWFLAKE_PASSWORD", "fake"),
        "database": os.environ.get("CRM_SNOWFLAKE_DATABASE", "crm_retention"),
        "warehouse": os.environ.get("CRM_SNOWFLAKE_WAREHOUSE", "compute_wh"),
        "host": os.environ.get("CRM_SNOWFLAKE_HOST", "localhost"),
        "port": os.environ.get("CRM_SNOWFLAKE_PORT", SNOWFLAKE_PORT),
        "protocol": os.environ.get("CRM_SNOWFLAKE_PROTOCOL", "http"),
    }
    return snowflake.connector.connect(**{key: value for key, value in settings.items() if value})


def snowflake_reader_main(request_path: str, output_path: str) -> None:
    con = snowflake_connection()
    tables, types = {}, {}
    try:
        cursor = con.cursor()
        for name, (schema, alias) in json.loads(Path(request_path).read_text()).items():
            cursor.execute(f'select * from "{schema.upper()}"."{alias.upper()}"')
            tables[name] = ([d[0].lower() for d in cursor.description], [tuple(row) for row in cursor.fetchall()])
            cursor.execute(
                "select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns"
                " where table_schema = %s and table_name = %s", (schema.upper(), alias.upper()),
            )
            # Snowflake's integer types are all NUMBER(38, 0): bigint is the same contract.
            types[name] = {
                column.lower(): ("bigint" if (precision, scale) == (38, 0) else f"number({precision},{scale})")
                if data_type == "NUMBER" else data_type
                for column, data_type, precision, scale in cursor.fetchall()
            }
    finally:
        con.close()
    with open(output_path, "wb") as handle:
        pickle.dump((tables, types), handle)


READERS = {"duckdb": read_duckdb, "postgres": read_postgres, "spark": read_in_child, "snowflake": read_in_child,
           "redshift": read_postgres}
CHILD_READERS = {"spark": spark_reader_main, "snowflake": snowflake_reader_main}


# ---------- comparing ----------

def is_number(value) -> bool:
    return isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)


def normalise(value):
    """Engine-neutral form of a value: numbers as Decimal (floats exactly), aware timestamps in UTC."""
    if is_number(value):
        if isinstance(value, float) and not math.isfinite(value):
            return value
        return decimal.Decimal(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def key_text(value) -> str:
    value = normalise(value)
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return "null" if value is None else str(value)


def values_differ(expected, actual, tolerance: float = TOLERANCE) -> bool:
    expected, actual = normalise(expected), normalise(actual)
    if expected is None or actual is None:
        return expected is not actual
    if isinstance(expected, decimal.Decimal) and isinstance(actual, decimal.Decimal):
        scale = max(decimal.Decimal(1), abs(expected), abs(actual))
        if tolerance != TOLERANCE:  # relative only, for values far below 1
            scale = max(abs(expected), abs(actual))
        return abs(expected - actual) > decimal.Decimal(tolerance) * scale
    # A date where a timestamp is expected (or the reverse) is a type difference a dashboard sees.
    if type(expected) is not type(actual):
        return True
    return expected != actual


# Each engine's names for the types the marts' contracts declare, in one spelling.
TYPE_SYNONYMS = {
    "int8": "bigint",
    "double precision": "double",
    "float8": "double",
    "numeric": "decimal",
    "character varying": "string",
    "varchar": "string",
    "text": "string",
    "timestamp without time zone": "timestamp",
    "bool": "boolean",
    # Snowflake: FLOAT is 64-bit, TEXT its one string type, TIMESTAMP_NTZ the timestamp without
    # a zone (its integers are read as bigint: snowflake_reader_main).
    "float": "double",
    "timestamp_ntz": "timestamp",
    "number": "decimal",
}


def canonical_type(name: str) -> str:
    """`NUMERIC(38, 6)` and `decimal(38,6)` alike: lower case, no spaces, synonyms unified."""
    name = name.lower().strip()
    base, _, arguments = name.partition("(")
    base = TYPE_SYNONYMS.get(base.strip(), base.strip())
    return f"{base}({arguments.replace(' ', '')}" if arguments else base


def compare_types(reference_types: dict[str, str], engine_types: dict[str, str]) -> list[str]:
    return [
        f"column {column}: type {REFERENCE} {reference_type} vs {engine_types.get(column)}"
        for column, reference_type in sorted(reference_types.items())
        if canonical_type(reference_type) != canonical_type(engine_types.get(column) or "missing")
    ]


def show(value) -> str:
    return "null" if value is None else f"{value!r}"


def seed_loading_difference(column: str, expected, actual) -> bool:
    return (
        column in SEED_ECHO_COLUMNS
        and isinstance(expected, str)
        and isinstance(actual, str)
        and SEED_BLANK_FIELD.sub("=", expected) == SEED_BLANK_FIELD.sub("=", actual)
    )


def blank(row: tuple, positions: list[int]) -> tuple:
    return tuple(None if index in positions else value for index, value in enumerate(row))


def compare_table(name: str, key: list[str] | None, expected_table, actual_table,
                  notes: list[str], null_columns: set[str] = frozenset(), scored_columns: set[str] = frozenset(),
                  ignored_columns: set[str] = frozenset()) -> list[str]:
    """Differences of one model; `null_columns` must be null on this engine and are not compared,
    `scored_columns` are compared within SCORED_TOLERANCE, `ignored_columns` not at all."""
    expected_columns, expected_rows = expected_table
    actual_columns, actual_rows = actual_table
    if expected_columns != actual_columns:
        return [f"columns differ: {expected_columns} vs {actual_columns}"]
    differences = []
    ignored = [expected_columns.index(column) for column in ignored_columns if column in expected_columns]
    expected_rows = [blank(row, ignored) for row in expected_rows]
    actual_rows = [blank(row, ignored) for row in actual_rows]
    null_positions = [expected_columns.index(column) for column in null_columns if column in expected_columns]
    if null_positions:
        for row in actual_rows:
            for position in null_positions:
                if row[position] is not None:
                    differences.append(f"column {expected_columns[position]} should be null here, is {show(row[position])}")
        expected_rows = [blank(row, null_positions) for row in expected_rows]
        actual_rows = [blank(row, null_positions) for row in actual_rows]
    if len(expected_rows) != len(actual_rows):
        differences.append(f"row count {len(expected_rows)} vs {len(actual_rows)}")
    positions = [expected_columns.index(column) for column in key] if key else None
    if positions is None:
        # No key: rows compared in a canonical order of their whole content.
        def order(row):
            return [key_text(value) for value in row]

        pairs = list(zip(sorted(expected_rows, key=order), sorted(actual_rows, key=order)))
        keyed = [(f"row {index + 1} in sorted order", left, right) for index, (left, right) in enumerate(pairs)]
    else:
        def index(rows, side):
            by_key = {}
            for row in rows:
                row_key = tuple(key_text(row[position]) for position in positions)
                if row_key in by_key:
                    differences.append(f"key {dict(zip(key, row_key))} occurs twice on {side}")
                by_key[row_key] = row
            return by_key

        expected_by_key, actual_by_key = index(expected_rows, REFERENCE), index(actual_rows, "this engine")
        for row_key in sorted(expected_by_key.keys() - actual_by_key.keys()):
            differences.append(f"key {dict(zip(key, row_key))}: row missing")
        for row_key in sorted(actual_by_key.keys() - expected_by_key.keys()):
            differences.append(f"key {dict(zip(key, row_key))}: unexpected row")
        keyed = [
            (f"key {dict(zip(key, row_key))}", expected_by_key[row_key], actual_by_key[row_key])
            for row_key in sorted(expected_by_key.keys() & actual_by_key.keys())
        ]
    for label, expected_row, actual_row in keyed:
        for column, expected_value, actual_value in zip(expected_columns, expected_row, actual_row):
            if not values_differ(expected_value, actual_value, SCORED_TOLERANCE if column in scored_columns else TOLERANCE):
                continue
            if seed_loading_difference(column, expected_value, actual_value):
                notes.append(f"{name} {label}, column {column}: blank seed cell loaded as null")
            else:
                differences.append(
                    f"{label}, column {column}: {REFERENCE} {show(expected_value)} vs {show(actual_value)}"
                )
    return differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="comma-separated engines to build; duckdb, the reference, is always built")
    parser.add_argument("--work-dir", type=Path, help="scratch directory (default: a new temp dir, removed after)")
    parser.add_argument("--project-dir", type=Path, default=ROOT, help="the dbt project to build (default: this one)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory for inspection")
    parser.add_argument("--read", nargs=3, metavar=("ENGINE", "REQUEST", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        CHILD_READERS[args.read[0]](*args.read[1:])
        return 0

    global project_dir
    project_dir = args.project_dir.resolve()
    names = [REFERENCE] + [name for name in args.engines.split(",") if name and name != REFERENCE]
    unknown = [name for name in names if name not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {unknown}; known: {', '.join(ENGINES)}")
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="crm-engines-"))
    work_dir = work_dir.resolve()
    engines = []
    for name in names:
        engines.append(Engine(name, work_dir / name))
        if name in INCREMENTAL:
            engines.append(Engine(name, work_dir / name, incremental=True))

    try:
        failed = compare(engines)
        failed += check_time_zones([Engine(name, work_dir / f"{name}-time-zones", time_zones=True) for name in names])
        return 0 if failed == 0 else 1
    finally:
        if args.keep or args.work_dir:
            print(f"builds kept in {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


def compare(engines: list[Engine]) -> int:
    failed = 0
    passed = 0
    # Each engine's tables are read as soon as it is built: the incremental runs of an engine
    # replace the tables of its demo build.
    for engine in engines:
        print(f"building the demo on {engine.label} ...", flush=True)
        build(engine)
        status = "ok" if engine.ok else "FAILED"
        steps = "incremental runs" if engine.incremental else "seed + build"
        print(f"  {engine.label}: {steps} {status} in {engine.seconds:.1f} s", flush=True)
        if not engine.ok:
            print("    " + engine.failure.replace("\n", "\n    "))
            failed += 1
        else:
            READERS[engine.name](engine, {name: node for name, node in compared_models(engine).items()
                                          if engine.name not in STAGING_ONLY or name.startswith("stg_crm__")})
            if engine is engines[0]:
                supply_fitted_parameters(engine)
        if not engines[0].ok:
            print(f"engines: {passed} passed, {failed} failed")
            return 1

    reference = engines[0]
    models = compared_models(reference)
    keys = {**keys_from_tests(reference), **KEYS}

    print(f"\ncomparing {len(models)} models with {REFERENCE}: {', '.join(sorted(models))}")
    for engine in engines[1:]:
        if not engine.ok:
            continue
        for name in sorted(models):
            if engine.name in STAGING_ONLY and not name.startswith("stg_crm__"):
                continue
            if name in FIT_ONLY and FIT_ONLY[name] is None:
                continue
            if name not in engine.tables:
                differences = ["model not built on this engine"]
            else:
                notes: list[str] = []
                null_columns = PREDICTION_COLUMNS.get(name, set()) if engine.name != REFERENCE else set()
                differences = compare_table(name, keys.get(name), reference.tables[name], engine.tables[name], notes,
                                            null_columns, SCORED_COLUMNS.get(name, set()), FIT_ONLY.get(name) or set())
                if name.startswith("crm__"):
                    differences += compare_types(reference.types[name], engine.types.get(name, {}))
                for note in notes:
                    print(f"note {engine.label} {note}")
            if differences:
                failed += 1
                print(f"DIFF {engine.label} {name}: {len(differences)} difference(s)")
                for line in differences[:DIFFERENCES_SHOWN]:
                    print(f"    {line}")
            else:
                passed += 1
                print(f"same {engine.label} {name} ({len(engine.tables[name][1])} rows, key {keys.get(name) or 'whole row'})")

    print("\nbuild wall time (dbt seed + dbt build; incremental: a full refresh and an incremental run):")
    for engine in engines:
        print(f"  {engine.label:<21} {engine.seconds:6.1f} s{'' if engine.ok else '  (failed)'}")
    print(f"engines: {passed} passed, {failed} failed")
    return failed


def supply_fitted_parameters(reference: Engine) -> None:
    """The demo's vars for the other engines gain crm_clv_parameters: DuckDB's fit, when it
    converged, so that they score in SQL what DuckDB scored in Python."""
    global DEMO_VARS, INCREMENTAL_VARS
    columns, rows = reference.tables["crm__clv_model"]
    fit = dict(zip(columns, rows[0]))
    if not fit["is_converged"]:
        return
    names = [f"{prefix}_{name}" for prefix, group in (("bgnbd", "r alpha a b"), ("gg", "p q gamma")) for name in group.split()]
    parameters = ", ".join(f"{name.split('_', 1)[1]}: {float(fit[name])!r}" for name in names)
    DEMO_VARS = DEMO_VARS[:-1] + f", crm_clv_parameters: {{{parameters}}}}}"
    INCREMENTAL_VARS = INCREMENTAL_VARS[:-1] + f", crm_clv_parameters: {{{parameters}}}}}"


def check_time_zones(engines: list[Engine]) -> int:
    """Stages the typed time-zone orders on each engine and counts them by Los Angeles week;
    returns how many engines got them wrong."""
    failed = 0
    print("\ntime zones: typed raw timestamps with an offset, staged as UTC, dated and counted by week in Los Angeles")
    for engine in engines:
        build(engine)
        if engine.ok:
            READERS[engine.name](engine, {name: node for name, node in compared_models(engine).items()
                                          if name in TIME_ZONE_MODELS})
            columns, rows = engine.tables["stg_crm__orders"]
            staged = {row[columns.index("order_id")]: row for row in rows}
            differences = [
                f"order {order_id}, column {column}: expected {expected!r}, got {show(staged[order_id][columns.index(column)])}"
                if order_id in staged else f"order {order_id} not staged"
                for order_id, (utc, local_date) in TIME_ZONE_ORDERS.items()
                for column, expected in [("ordered_at", utc), ("updated_at", utc), ("order_date", local_date)]
                if order_id not in staged or values_differ(expected, staged[order_id][columns.index(column)])
            ]
            columns, rows = engine.tables["crm__aov"]
            weekly = {row[columns.index("period_start")]: row[columns.index("orders")] for row in rows}
            differences += [
                f"crm__aov week of {week}: expected {expected} orders, got {show(weekly.get(week))}"
                for week in sorted(TIME_ZONE_WEEKLY_ORDERS.keys() | {w for w, n in weekly.items() if n})
                for expected in [TIME_ZONE_WEEKLY_ORDERS.get(week, 0)]
                if values_differ(expected, weekly.get(week))
            ]
        else:
            differences = [engine.failure]
        print(f"  {engine.name}: {'ok' if not differences else 'FAILED'} in {engine.seconds:.1f} s")
        for line in dict.fromkeys(differences):
            print(f"    {line}")
        failed += bool(differences)
    return failed


if __name__ == "__main__":
    sys.exit(main())
