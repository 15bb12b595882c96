"""What the predictive models add to a build: the purchase summaries and the two Python models,
timed alone on generated data (docs/benchmark.md, "Predictive CLV").

For each size: generate the raw tables (scripts/bench_data.py), `dbt run` the models the
summaries need and the summaries themselves, then `dbt run` only the prediction nodes
(int_crm__clv_model_fit, int_crm__customer_clv_predictions, crm__clv_model) --repeats times on
those summaries, and report each node's execution seconds from run_results.json (the median of the
repeats), with the machine's load average. Then the same work in this process, timed by CPU
seconds as well as wall seconds (on a shared machine the CPU seconds are the cost the models
would have on an idle one): the DuckDB grouping, the fit, reading the summaries, scoring, and
writing the predictions back. Usage:

    .venv/bin/python scripts/benchmark_predictions.py --sizes 10000000 [--repeats 3] [--workdir bench]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

import bench_data
from benchmark import dbt_env

ROOT = Path(__file__).resolve().parents[1]
DBT = str(Path(sys.executable).parent / "dbt")
SUMMARIES = "int_crm__customer_clv_summaries"
# The settings, the backtest's calibration summaries and the period spine: read by the Python models and the backtest.
UPSTREAM = [f"+{SUMMARIES}", "+int_crm__clv_backtest_summaries", "+int_crm__period_spine", "int_crm__clv_settings"]
PREDICTION_NODES = ["int_crm__clv_model_fit", "int_crm__customer_clv_predictions", "crm__clv_model",
                    "int_crm__clv_backtest_expectations", "crm__clv_backtest", "crm__clv_backtest_tracking"]


def dbt_run(select: list[str], work: Path, dbt_vars: dict) -> dict[str, float]:
    env = dbt_env(work, os.environ.get("CRM_DUCKDB_THREADS", "2"), os.environ.get("CRM_DUCKDB_MEMORY_LIMIT", "4GB"))
    command = [DBT, "run", "--select", *select, "--vars", json.dumps(dbt_vars),
               "--project-dir", str(ROOT), "--profiles-dir", str(ROOT)]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"dbt run failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    run = json.loads((work / "target" / "run_results.json").read_text())
    return {r["unique_id"].split(".")[-1]: r["execution_time"] for r in run["results"]}


def bench_size(n_orders: int, args: argparse.Namespace) -> dict:
    work = args.workdir / f"predictions_{n_orders}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    with duckdb.connect(str(work / "crm.duckdb")) as con:
        rows = bench_data.generate(con, n_orders)
        con.execute("checkpoint")
    dbt_vars = bench_data.source_vars()
    print(f"[{n_orders:,}] building the summaries and what they read", file=sys.stderr, flush=True)
    upstream = dbt_run(UPSTREAM, work, dbt_vars)
    runs = []
    for repeat in range(args.repeats):
        print(f"[{n_orders:,}] prediction nodes, run {repeat + 1} of {args.repeats}", file=sys.stderr, flush=True)
        runs.append((os.getloadavg()[0], dbt_run(PREDICTION_NODES, work, dbt_vars)))
    with duckdb.connect(str(work / "crm.duckdb"), read_only=True) as con:
        customers, repeaters = con.execute(f"select count(*), count(*) filter (where frequency > 0) from main.{SUMMARIES}").fetchall()[0]
        fit = con.execute("select is_converged, fit_note from main.int_crm__clv_model_fit where fitted_on = 'as_of'").fetchall()[0]
        in_process = time_in_process(con.table(f"main.{SUMMARIES}"))
    if not args.keep_data:
        (work / "crm.duckdb").unlink(missing_ok=True)
    seconds = {node: statistics.median(run[node] for _, run in runs) for node in PREDICTION_NODES}
    return {
        "orders": rows["orders"], "customers": customers, "repeat_customers": repeaters,
        "summaries_seconds": upstream[SUMMARIES], "node_seconds": seconds,
        "python_seconds": seconds["int_crm__clv_model_fit"] + seconds["int_crm__customer_clv_predictions"],
        "load_averages": [load for load, _ in runs], "is_converged": fit[0], "fit_note": fit[1],
        "in_process": in_process,
    }


def load_model(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "models" / "intermediate" / "predictions" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_in_process(summaries) -> dict[str, tuple[float, float]]:
    """(CPU seconds, wall seconds) of each step the two Python models take, run here."""
    fit_model, score_model = load_model("int_crm__clv_model_fit"), load_model("int_crm__customer_clv_predictions")
    steps: dict[str, tuple[float, float]] = {}

    def timed(name, function):
        cpu, wall = time.process_time(), time.perf_counter()
        value = function()
        steps[name] = (time.process_time() - cpu, time.perf_counter() - wall)
        return value

    rows = timed("group distinct rows (DuckDB)", lambda: (
        fit_model.distinct_rows_in_duckdb(summaries, ["frequency", "recency", "customer_age"], "true"),
        fit_model.distinct_rows_in_duckdb(summaries, ["frequency", "repeat_order_value"],
                                          "frequency > 0 and repeat_order_value > 0"),
    ))
    fit_row = timed("fit", lambda: fit_model.fit_distinct(*rows))
    names = ["customer_id", "frequency", "recency", "customer_age", "repeat_order_value"]
    columns = timed("read summaries", lambda: score_model.read_columns(summaries, names))
    scores = timed("score", lambda: score_model.score(
        fit_row, columns["frequency"], columns["recency"], columns["customer_age"], columns["repeat_order_value"],
        time_unit_days=7, horizon_days=365, annual_discount_rate=0.1))
    scratch = duckdb.connect()
    timed("write predictions", lambda: scratch.register("predictions", {"customer_id": columns["customer_id"], **scores})
          .execute("create table written as select * from predictions"))
    scratch.close()
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench")
    parser.add_argument("--keep-data", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results = [bench_size(n, args) for n in args.sizes]
    print(f"predictive models, {started}, {os.cpu_count()} cores")
    for r in results:
        nodes = ", ".join(f"{node} {seconds:.2f} s" for node, seconds in r["node_seconds"].items())
        print(f"{r['orders']:,} orders, {r['customers']:,} customers ({r['repeat_customers']:,} repeat): "
              f"summaries {r['summaries_seconds']:.2f} s; {nodes}; Python models {r['python_seconds']:.2f} s "
              f"(target 3 s); load average {', '.join(f'{load:.1f}' for load in r['load_averages'])}; "
              f"fit: {r['fit_note']}")
        steps = r["in_process"]
        print("  in process (CPU s / wall s): " + "; ".join(f"{name} {cpu:.2f} / {wall:.2f}" for name, (cpu, wall) in steps.items())
              + f"; total {sum(c for c, _ in steps.values()):.2f} / {sum(w for _, w in steps.values()):.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
