"""Build the package into a fresh DuckDB file from raw rows, and read the marts back.

Tests hand raw rows to `build`, which writes them as raw tables (text columns, as a CSV export
leaves them, or typed) into a new DuckDB file, points the package at them through the source vars
and runs dbt in a subprocess with its own target and log folders, so builds never share state
(the incremental sequences, which call dbt dozens of times on one file, run it in this process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from raw_schema import RAW_COLUMNS, RAW_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
# CRM_DBT runs the suite's builds with another dbt, e.g. the lowest claimed dbt-core
# (make test-min-dbt); by default the dbt beside this Python.
DBT = os.environ.get("CRM_DBT") or str(Path(sys.executable).parent / "dbt")


class DbtError(AssertionError):
    """dbt exited non-zero; the message carries its output."""


@dataclass
class Build:
    db_path: Path
    target_path: Path
    output: str

    def rows(self, sql: str) -> list[dict]:
        con = duckdb.connect(str(self.db_path))
        try:
            cursor = con.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        finally:
            con.close()

    def table(self, name: str, order_by: str | None = None) -> list[dict]:
        order = f" order by {order_by}" if order_by else ""
        return self.rows(f"select * from main.{name}{order}")

    def scalar(self, sql: str):
        con = duckdb.connect(str(self.db_path))
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()


def write_raw_tables(db_path: Path, tables: dict[str, list[dict]], *, typed_sql: dict[str, str] | None = None) -> None:
    """Raw tables as text columns; `typed_sql` may give a table a select that types it instead."""
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        for name, rows in tables.items():
            columns = RAW_COLUMNS[name]
            present = [c for c in columns if any(c in row for row in rows)] or columns
            column_sql = ", ".join(f'"{c}" varchar' for c in present)
            con.execute(f"create or replace table {RAW_SCHEMA}.src_{name} ({column_sql})")
            if rows:
                placeholders = ", ".join("?" for _ in present)
                con.executemany(
                    f"insert into {RAW_SCHEMA}.src_{name} values ({placeholders})",
                    [[None if row.get(c) is None else str(row.get(c)) for c in present] for row in rows],
                )
            if typed_sql and name in typed_sql:
                con.execute(f"create or replace table {RAW_SCHEMA}.src_{name} as {typed_sql[name].format(table=f'{RAW_SCHEMA}.src_{name}')}")
    finally:
        con.close()


def source_vars(tables: dict) -> dict:
    values = {"crm_schema": RAW_SCHEMA}
    for name in RAW_COLUMNS:
        values[f"crm_{name}_identifier"] = f"src_{name}"
    values["crm_using_nps"] = "nps_responses" in tables
    values["crm_using_marketing_spend"] = "marketing_spend" in tables
    # Fixtures hold dirt on purpose: the rejected-share guards stay silent unless a test sets them.
    values["crm_rejected_share_warn"] = 1
    values["crm_rejected_share_error"] = 1
    # The demo shop has a few orders in EUR and GBP: with its exchange rates they are converted
    # to USD; without them they are rejected as missing_exchange_rate rather than summed with the
    # dollars (the reference does the same).
    values["crm_reporting_currency"] = "USD"
    values["crm_using_exchange_rates"] = "exchange_rates" in tables
    return values


def postgres_connection():
    """An autocommit connection to the PostgreSQL of profiles.yml's postgres target (the
    throw-away cluster of scripts/engines/engines.sh unless CRM_PG_* say otherwise)."""
    import psycopg2  # installed with dbt-postgres (requirements-engines.txt)

    con = psycopg2.connect(host=os.environ.get("CRM_PG_HOST", "127.0.0.1"),
                           port=int(os.environ.get("CRM_PG_PORT", "55432")),
                           user=os.environ.get("CRM_PG_USER", "postgres"),
                           password=os.environ.get("CRM_PG_PASSWORD", ""),
                           dbname=os.environ.get("CRM_PG_DBNAME", "crm_retention"))
    con.autocommit = True
    return con


def run_dbt(args: list[str], *, db_path: Path, target_path: Path, project_dir: Path = ROOT,
            check: bool = True, env: dict | None = None, in_process: bool = False) -> subprocess.CompletedProcess:
    """dbt with its own DuckDB file, target and log folders. in_process runs it in this Python
    (dbtRunner) instead of a new process, which saves about two seconds of start-up per call; the
    caller then owns the DuckDB file: dbt-duckdb keeps it open after the call, so no other process
    may open it."""
    run_env = dict(os.environ)
    run_env.update({
        "CRM_DUCKDB_PATH": str(db_path),
        "DBT_TARGET_PATH": str(target_path),
        "DBT_LOG_PATH": str(target_path / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    })
    run_env.pop("CRM_TARGET", None)
    run_env.update(env or {})
    command = [DBT, *args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    if in_process and not os.environ.get("CRM_DBT"):
        result = _run_dbt_in_process(command, run_env)
    else:
        result = subprocess.run(command, cwd=project_dir, env=run_env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise DbtError(f"dbt {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def _run_dbt_in_process(command: list[str], run_env: dict) -> subprocess.CompletedProcess:
    import contextlib
    import io

    from dbt.cli.main import dbtRunner

    saved = dict(os.environ)
    output = io.StringIO()
    os.environ.clear()
    os.environ.update({**run_env, "DBT_USE_COLORS": "false"})
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            result = dbtRunner().invoke(command[1:])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    # dbt's exit codes: 0 success, 1 a node failed, 2 dbt itself failed
    code = 0 if result.success else (2 if result.exception is not None else 1)
    text = output.getvalue() + (f"\n{result.exception}" if result.exception is not None else "")
    return subprocess.CompletedProcess(command, code, text, "")


def build(tmp_path: Path, tables: dict[str, list[dict]], vars: dict | None = None, *,
          typed_sql: dict[str, str] | None = None, command: str = "build", extra_args: list[str] | None = None) -> Build:
    """Write the raw tables, run `dbt <command>` over them, return the build to query."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    db_path = tmp_path / "crm.duckdb"
    target_path = tmp_path / "target"
    write_raw_tables(db_path, tables, typed_sql=typed_sql)
    all_vars = source_vars(tables)
    all_vars.update(vars or {})
    result = run_dbt([command, "--vars", json.dumps(all_vars), *(extra_args or [])],
                     db_path=db_path, target_path=target_path)
    return Build(db_path=db_path, target_path=target_path, output=result.stdout)
