"""Incremental mode where a host project puts the package's models: a schema of their own.

A copy of integration_tests/ (host_project.py) builds into the target schema `shop`, where nothing
of its own lives: its `+schema` configs put the package's models in shop_crm, its own models in
shop_reports and its seeds in shop_shop_raw. Its state table must be created and committed beside
the package's models, and a full refresh into a second schema (shop_crm_b) must not be taken for
the first schema's progress. DuckDB here; `make test-engines` runs it on PostgreSQL.
"""

from __future__ import annotations

import duckdb
import pytest
import yaml

from dbt_project_runner import postgres_connection
from host_project import ENGINE, Host
from mart_comparison import MART_KEYS, compare_rows

pytestmark = pytest.mark.slow

SCHEMA = "shop"
# Two orders arrive after the first build (typed, as the host's loader leaves them): a second
# purchase of c05 (80.00 on 2024-03-10 so far) and the first order of c07. Both are guests (c05
# has no customer row, c07's is rejected as dated in 2999). Both orders are dated before the
# host's latest order (2024-04-15), so the as-of date stays.
ARRIVALS = [
    ("o20", "c05", "2024-04-01 10:00:00", "complete", 30.00, "2024-04-20 08:00:00"),
    ("o21", "c07", "2024-04-08 10:00:00", "complete", 12.50, "2024-04-20 08:00:00"),
]
# Written before the run: the two customers as a full refresh of all rows gives them.
EXPECTED_CUSTOMERS = {
    "c05": {"orders": 2, "net_revenue": 110.00, "first_order_date": "2024-03-10", "last_order_date": "2024-04-01",
            "has_customer_record": False},
    "c07": {"orders": 1, "net_revenue": 12.50, "first_order_date": "2024-04-08", "last_order_date": "2024-04-08",
            "has_customer_record": False},
}


def place_models(host: Host, package_schema: str) -> None:
    """The host's own dbt_project.yml puts the package's models in <target>_<package_schema>."""
    path = host.project / "dbt_project.yml"
    config = yaml.safe_load(path.read_text())
    config["models"]["crm_retention"] = {"+schema": package_schema}
    config["models"]["crm_retention_integration_tests"]["+schema"] = "reports"
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def execute(host: Host, sql: str) -> None:
    if ENGINE == "postgres":
        con = postgres_connection()
        try:
            with con.cursor() as cursor:
                cursor.execute(sql)
        finally:
            con.close()
    else:
        con = duckdb.connect(str(host.db_path))
        try:
            con.execute(sql)
        finally:
            con.close()


def run(host: Host, *args: str) -> None:
    result = host.dbt(["run", *args], check=False)
    assert result.returncode == 0, result.stdout[-4000:]


def test_incremental_runs_where_the_host_puts_the_models(tmp_path):
    host = Host(tmp_path, {"crm_incremental": True, "crm_run_self_tests": False}, schema=SCHEMA)
    place_models(host, "crm")
    for suffix in ("crm", "crm_b", "reports"):
        execute(host, f'drop schema if exists "{SCHEMA}_{suffix}" cascade')
    host.build()
    # Every incremental run after the first build: the state table was created and committed
    # beside the models (not in the target schema, which does not even exist).
    run(host)
    states = host.query("select table_schema from information_schema.tables"
                        f" where table_name = 'crm_retention_incremental_state' and table_schema like '{SCHEMA}%'")
    assert states == [(f"{SCHEMA}_crm",)]

    # The loader delivers two orders; a run is interrupted after the order-grain tables.
    values = ", ".join(f"('{o}', '{c}', cast('{at}' as timestamp), '{s}', {a}, null, 'EUR', cast('{u}' as timestamp))"
                       for o, c, at, s, a, u in ARRIVALS)
    execute(host, f"insert into {SCHEMA}_shop_raw.shop_orders values {values}")
    run(host, "-s", "base_crm__orders", "base_crm__customers", "stg_crm__order_changes", "int_crm__orders")
    # A full refresh of the same rows into a second schema, then the normal run in the first.
    place_models(host, "crm_b")
    run(host, "--full-refresh")
    place_models(host, "crm")
    run(host)

    customers = {row["customer_id"]: {
        "orders": row["orders"], "net_revenue": float(row["net_revenue"]), "first_order_date": str(row["first_order_date"]),
        "last_order_date": str(row["last_order_date"]), "has_customer_record": row["has_customer_record"],
    } for row in host.rows(f"select * from {SCHEMA}_crm.crm__customers where customer_id in ('c05', 'c07')")}
    assert customers == EXPECTED_CUSTOMERS
    # and every mart equals the full refresh of the same rows
    problems = []
    for name in MART_KEYS:
        actual = host.rows(f"select * from {SCHEMA}_crm.{name}")
        refreshed = host.rows(f"select * from {SCHEMA}_crm_b.{name}")
        problems += compare_rows(name, actual, refreshed)
    assert not problems, "\n".join(problems[:20])
