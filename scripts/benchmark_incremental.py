"""Incremental run against a full refresh, at N generated orders.

Generates N typed orders (scripts/bench_data.py), builds the package with `crm_incremental: true`
(the first run is a full build), appends one day of orders (N / 1000 new orders and N / 10000
corrected versions of old orders, changed to cancelled), builds again, and prints both builds'
wall time and models' own execution time (summed from run_results.json) and their ratio, with
the slowest models of each. Then it builds once more with nothing appended: a run with no raw
change and the same as-of date, the floor under the one-day figure. With --full-check it then
appends another day and runs with `crm_incremental_full_check: true` (every raw key compared
with the base tables, the fix the reconciliation names after deletes), to show what that costs.
Usage: benchmark_incremental.py N [--workdir DIR] [--top K] [--full-check].
The identity of the marts with a full refresh is checked by tests/python/test_incremental.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bench_data  # noqa: E402
from raw_schema import RAW_COLUMNS  # noqa: E402


def build(env: dict, dbt_vars: dict, target: Path) -> tuple[float, float, list[tuple[float, str]]]:
    started = time.time()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--vars", json.dumps(dbt_vars), "--project-dir", str(ROOT)],
        env=env, capture_output=True, text=True,
    )
    wall = time.time() - started
    if result.returncode != 0:
        sys.exit(f"dbt build failed:\n{result.stdout[-4000:]}")
    results = json.loads((target / "run_results.json").read_text())["results"]
    models = sorted(((r["execution_time"], r["unique_id"].split(".")[-1])
                     for r in results if r["unique_id"].startswith("model.")), reverse=True)
    return wall, sum(seconds for seconds, _ in models), models


def append_one_day(db: Path, n_orders: int) -> None:
    con = duckdb.connect(str(db))
    try:
        orders = f"{bench_data.RAW_SCHEMA}.{bench_data.TABLES['orders']}"
        last = con.execute(f"select max(ordered_at) from {orders}").fetchone()[0]
        day = f"timestamp '{last}' + interval 1 day"
        columns = ", ".join(RAW_COLUMNS["orders"])
        con.execute(f"""
            insert into {orders} ({columns})
            select 'N' || row_number() over (), customer_id, {day}, 'completed', amount, null, currency, {day}
            from {orders} using sample {max(1, n_orders // 1000)} rows (reservoir, 7)""")
        con.execute(f"""
            insert into {orders} ({columns})
            select order_id, customer_id, ordered_at, 'cancelled', amount, refunded_amount, currency, {day}
            from {orders} using sample {max(1, n_orders // 10000)} rows (reservoir, 11)""")
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("orders", type=int)
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "incremental"))
    parser.add_argument("--top", type=int, default=6, help="how many of the slowest models to list")
    parser.add_argument("--full-check", action="store_true",
                        help="then append another day and run with crm_incremental_full_check: true (every key compared)")
    args = parser.parse_args()
    workdir = Path(args.workdir) / f"orders_{args.orders}"
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "crm.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    bench_data.generate(con, args.orders)
    con.close()
    target = workdir / "target"
    env = {**os.environ, "CRM_DUCKDB_PATH": str(db), "DBT_TARGET_PATH": str(target),
           "DBT_LOG_PATH": str(workdir / "logs"), "DBT_PROFILES_DIR": str(ROOT)}
    dbt_vars = {**bench_data.source_vars(), "crm_incremental": True}
    full = build(env, dbt_vars, target)
    append_one_day(db, args.orders)
    incremental = build(env, dbt_vars, target)
    unchanged = build(env, dbt_vars, target)
    print(f"orders {args.orders:,}; load average {os.getloadavg()[0]:.1f}")
    print(f"full build:        wall {full[0]:6.1f} s, models {full[1]:6.1f} s")
    print(f"incremental build: wall {incremental[0]:6.1f} s, models {incremental[1]:6.1f} s "
          f"({incremental[1] / full[1]:.0%} of the full build's models; target <= 25%)")
    print(f"run with no raw change (floor): wall {unchanged[0]:6.1f} s, models {unchanged[1]:6.1f} s "
          f"({unchanged[1] / full[1]:.0%} of the full build's models)")
    runs = [("full build", full), ("incremental run", incremental), ("run with no raw change", unchanged)]
    if args.full_check:
        append_one_day(db, args.orders)
        checked = build(env, {**dbt_vars, "crm_incremental_full_check": True}, target)
        print(f"incremental build with crm_incremental_full_check: wall {checked[0]:6.1f} s, models {checked[1]:6.1f} s "
              f"({checked[1] / full[1]:.0%} of the full build's models)")
        runs.append(("run with the full check", checked))
    for label, run in runs:
        print(f"slowest models of the {label}:")
        for seconds, name in run[2][:args.top]:
            print(f"  {seconds:6.2f}  {name}")


if __name__ == "__main__":
    main()
