"""Scale benchmark: a full `dbt build` of the package on N generated orders.

For each size N it generates the raw tables inside a DuckDB file (scripts/bench_data.py), then,
in the same run and on the same file:

1. the engine floor: one DuckDB query that reads every order once and aggregates by customer;
2. the pandas peer (scripts/pandas_peer.py), in its own process;
3. `dbt build` (every model and test), in its own process, pointed at the file through the
   source vars, with its target and log folders under the work directory.

It prints, per N: wall seconds, the models' own execution seconds (run_results.json), peak memory
of each process (ru_maxrss of the child as reaped by wait4, which covers the children it reaped),
the five slowest models, and the ratios to the peer and to the floor, each beside its target.

    python scripts/benchmark.py                      # 1M and 10M orders
    python scripts/benchmark.py --sizes 1000000 10000000 50000000
    make bench SIZES="1000000 10000000 50000000"

DuckDB settings come from CRM_DUCKDB_THREADS (dbt threads) and CRM_DUCKDB_MEMORY_LIMIT, as in
profiles.yml, or from --threads / --memory-limit; the run prints what it used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DBT = str(Path(sys.executable).parent / "dbt")
GIB = 1024 ** 3

# The targets, checked at TARGET_SIZE orders (growth: from TARGET_SIZE to GROWTH_SIZE).
TARGET_SIZE = 10_000_000
GROWTH_SIZE = 50_000_000
TARGET_WALL_SECONDS = 15.0
TARGET_PEAK_GIB = 3.0
TARGET_PEER_SPEEDUP = 3.0
TARGET_GROWTH = 6.0


@dataclass
class Measured:
    seconds: float
    peak_bytes: int
    returncode: int
    stdout: str
    stderr: str


@dataclass
class SizeResult:
    n_orders: int
    raw_rows: dict = field(default_factory=dict)
    generate_seconds: float = 0.0
    floor_seconds: float | None = None
    peer: Measured | None = None
    peer_timings: dict = field(default_factory=dict)
    parse: Measured | None = None
    dbt: Measured | None = None
    dbt_elapsed_seconds: float | None = None
    model_seconds: float | None = None
    test_seconds: float | None = None
    slowest_models: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    skipped: int = 0


def run_measured(command: list[str], output: Path, *, env: dict | None = None) -> Measured:
    """Run a command; wall time and peak RSS of its process as the kernel accounted it.

    Output goes to files rather than pipes so nothing has to drain them while the child runs,
    and the child is reaped with wait4, whose rusage holds its peak RSS.
    """
    stdout_path, stderr_path = output.with_suffix(".out"), output.with_suffix(".err")
    with open(stdout_path, "w") as stdout, open(stderr_path, "w") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(seconds=seconds, peak_bytes=usage.ru_maxrss * 1024, returncode=process.returncode,
                    stdout=stdout_path.read_text(), stderr=stderr_path.read_text())


def engine_floor(db_path: Path, memory_limit: str) -> float:
    """One pass over every order, aggregated by customer, materialised like a model would be."""
    with duckdb.connect(str(db_path)) as con:
        con.execute(f"set memory_limit = '{memory_limit}'")
        con.execute("set enable_progress_bar = false")
        started = time.perf_counter()
        con.execute(f"""
            create or replace temp table bench_floor as
            select customer_id, count(*) as orders, sum(amount) as amount,
                   min(ordered_at) as first_ordered_at, max(ordered_at) as last_ordered_at
            from {bench_data.RAW_SCHEMA}.{bench_data.TABLES['orders']}
            group by customer_id
        """)
        return time.perf_counter() - started


def dbt_env(work: Path, threads: str, memory_limit: str) -> dict:
    env = dict(os.environ)
    env.update({
        "CRM_DUCKDB_PATH": str(work / "crm.duckdb"),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "DBT_PROFILES_DIR": str(ROOT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "CRM_DUCKDB_THREADS": threads,
        "CRM_DUCKDB_MEMORY_LIMIT": memory_limit,
    })
    env.pop("CRM_TARGET", None)
    return env


def read_run_results(result: SizeResult, target: Path) -> None:
    path = target / "run_results.json"
    if not path.exists():
        return
    run = json.loads(path.read_text())
    result.dbt_elapsed_seconds = run.get("elapsed_time")
    models = [(r["unique_id"].split(".")[-1], r["execution_time"]) for r in run["results"]
              if r["unique_id"].startswith("model.")]
    result.model_seconds = sum(seconds for _, seconds in models)
    result.test_seconds = sum(r["execution_time"] for r in run["results"]
                              if r["unique_id"].startswith(("test.", "unit_test.")))
    result.slowest_models = sorted(models, key=lambda item: -item[1])[:5]
    result.failures = [f"{r['unique_id']}: {r['status']}" for r in run["results"]
                       if r["status"] not in ("success", "pass", "skipped")]
    result.skipped = sum(1 for r in run["results"] if r["status"] == "skipped")


def bench_size(n_orders: int, args: argparse.Namespace) -> SizeResult:
    result = SizeResult(n_orders=n_orders)
    work = args.workdir / f"orders_{n_orders}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db_path = work / "crm.duckdb"

    log(f"[{n_orders:,}] generating raw tables")
    started = time.perf_counter()
    with duckdb.connect(str(db_path)) as con:
        result.raw_rows = bench_data.generate(con, n_orders, with_nps=not args.without_optional_sources,
                                              with_spend=not args.without_optional_sources)
        con.execute("checkpoint")
    result.generate_seconds = time.perf_counter() - started

    if not args.skip_floor:
        log(f"[{n_orders:,}] engine floor")
        result.floor_seconds = engine_floor(db_path, args.memory_limit)

    if not args.skip_peer:
        log(f"[{n_orders:,}] pandas peer")
        command = [PYTHON, str(ROOT / "scripts" / "pandas_peer.py"), str(db_path)]
        if args.without_optional_sources:
            command += ["--spend-table", ""]
        result.peer = run_measured(command, work / "pandas_peer")
        if result.peer.returncode == 0:
            result.peer_timings = json.loads(result.peer.stdout.strip().splitlines()[-1])["timings"]
        else:
            log(result.peer.stderr[-3000:])

    dbt_vars = bench_data.source_vars()
    if args.without_optional_sources:
        dbt_vars.update({"crm_using_nps": False, "crm_using_marketing_spend": False})
    common = ["--vars", json.dumps(dbt_vars), "--project-dir", str(ROOT), "--profiles-dir", str(ROOT)]
    env = dbt_env(work, args.threads, args.memory_limit)
    # Parsing costs the same at every N and is paid once per project change; the build then
    # reuses the parse the way everyday builds do. Both figures are reported.
    log(f"[{n_orders:,}] dbt parse")
    result.parse = run_measured([DBT, "parse", *common], work / "dbt_parse", env=env)
    log(f"[{n_orders:,}] dbt build")
    result.dbt = run_measured([DBT, "build", *common, *args.dbt_args], work / "dbt_build", env=env)
    read_run_results(result, work / "target")
    if result.dbt.returncode != 0:
        log(result.dbt.stdout[-4000:] + result.dbt.stderr[-2000:])
    if not args.keep_data:
        db_path.unlink(missing_ok=True)
    return result


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------- report ----------

def _fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def _verdict(value: float | None, limit: float, *, at_most: bool) -> str:
    if value is None:
        return ""
    ok = value <= limit if at_most else value >= limit
    return " ok" if ok else " MISS"


def report(results: list[SizeResult], args: argparse.Namespace) -> str:
    sizes = [r.n_orders for r in results]
    by_size = {r.n_orders: r for r in results}
    lines = []
    lines.append(f"Machine: {os.cpu_count()} cores, {_memory_gib():.0f} GiB RAM; load average at start "
                 f"{args.load_at_start[0]:.1f} (1 min)")
    lines.append(f"DuckDB: dbt threads {args.threads} (CRM_DUCKDB_THREADS), memory_limit {args.memory_limit} "
                 f"(CRM_DUCKDB_MEMORY_LIMIT), DuckDB worker threads per connection: its default "
                 f"({os.cpu_count()} = cores); duckdb {duckdb.__version__}")
    lines.append(f"Optional sources (nps, marketing spend): {'off' if args.without_optional_sources else 'on'}")
    lines.append("")

    def row(label: str, values: list[str], target: str = "") -> None:
        lines.append(f"{label:<38}" + "".join(f"{v:>16}" for v in values) + (f"   {target}" if target else ""))

    def peer_speedup(r: SizeResult) -> float | None:
        if r.peer is None or r.peer.returncode != 0 or r.dbt is None:
            return None
        return r.peer.seconds / r.dbt.seconds

    at = f"at {TARGET_SIZE // 1_000_000}M"
    row("orders (N)", [f"{n:,}" for n in sizes], "target")
    row("raw order rows (incl. old versions)", [f"{r.raw_rows.get('orders', 0):,}" for r in results])
    row("generate raw tables, s", [_fmt(r.generate_seconds) for r in results])
    row("dbt build wall (parsed), s", [_fmt(r.dbt.seconds) + (_verdict(r.dbt.seconds, TARGET_WALL_SECONDS, at_most=True)
                                                     if r.n_orders == TARGET_SIZE else "") for r in results],
        f"<= {TARGET_WALL_SECONDS:.0f} s {at}")
    row("dbt parse wall (cold, once), s", [_fmt(r.parse.seconds) if r.parse else "-" for r in results])
    row("  dbt execution phase, s", [_fmt(r.dbt_elapsed_seconds) for r in results])
    row("  models' execution, s (sum)", [_fmt(r.model_seconds) for r in results])
    row("  tests' execution, s (sum, data+unit)", [_fmt(r.test_seconds) for r in results])
    row("dbt peak memory, GiB", [_fmt(r.dbt.peak_bytes / GIB, digits=2)
                                 + (_verdict(r.dbt.peak_bytes / GIB, TARGET_PEAK_GIB, at_most=True)
                                    if r.n_orders == TARGET_SIZE else "") for r in results],
        f"<= {TARGET_PEAK_GIB:.0f} GiB {at}")
    row("dbt result", ["ok" if r.dbt.returncode == 0
                       else f"FAILED {len(r.failures)}+{r.skipped} skipped" for r in results])
    row("pandas peer wall, s", [_fmt(r.peer.seconds) if r.peer else "-" for r in results])
    row("pandas peer peak memory, GiB", [_fmt(r.peer.peak_bytes / GIB, digits=2) if r.peer else "-" for r in results])
    row("speed-up vs pandas peer (wall/wall)", [_fmt(peer_speedup(r), "x", 2)
                                                + (_verdict(peer_speedup(r), TARGET_PEER_SPEEDUP, at_most=False)
                                                   if r.n_orders == TARGET_SIZE else "") for r in results],
        f">= {TARGET_PEER_SPEEDUP:.0f}x {at}")
    row("engine floor query, s", [_fmt(r.floor_seconds, digits=2) for r in results])
    row("models' execution / floor", [_fmt(r.model_seconds / r.floor_seconds, "x")
                                      if r.floor_seconds and r.model_seconds is not None else "-" for r in results])
    row("dbt build wall / floor", [_fmt(r.dbt.seconds / r.floor_seconds, "x") if r.floor_seconds else "-"
                                   for r in results])
    if TARGET_SIZE in by_size and GROWTH_SIZE in by_size:
        small, large = by_size[TARGET_SIZE], by_size[GROWTH_SIZE]
        if small.model_seconds and large.model_seconds:
            growth = large.model_seconds / small.model_seconds
            lines.append("")
            lines.append(f"models' execution growth {TARGET_SIZE // 1_000_000}M -> {GROWTH_SIZE // 1_000_000}M: "
                         f"{growth:.2f}x (target <= {TARGET_GROWTH:.0f}x for 5x the orders)"
                         + _verdict(growth, TARGET_GROWTH, at_most=True))
    for r in results:
        lines.append("")
        lines.append(f"Five slowest models at {r.n_orders:,} orders (execution seconds):")
        for name, seconds in r.slowest_models:
            lines.append(f"  {seconds:8.2f}  {name}")
        if r.peer_timings:
            lines.append("  pandas peer stages, s: " + ", ".join(f"{k} {v:.1f}" for k, v in r.peer_timings.items()))
        for failure in r.failures[:10]:
            lines.append(f"  not ok: {failure}")
        if r.dbt and r.dbt.returncode != 0:
            lines.append(f"  the build failed ({r.skipped} nodes skipped): its figures are not a measurement")
    return "\n".join(lines)


def _memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    except (ValueError, OSError):
        return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark a full dbt build of crm_retention at scale.")
    parser.add_argument("--sizes", nargs="+", type=int, default=[1_000_000, 10_000_000],
                        help="order counts to benchmark (default: 1000000 10000000)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench",
                        help="where the DuckDB files, dbt targets and logs go (default: ./bench)")
    parser.add_argument("--threads", default=os.environ.get("CRM_DUCKDB_THREADS", "2"),
                        help="dbt threads (default: $CRM_DUCKDB_THREADS or 2, as in profiles.yml)")
    parser.add_argument("--memory-limit", default=os.environ.get("CRM_DUCKDB_MEMORY_LIMIT", "4GB"),
                        help="DuckDB memory_limit (default: $CRM_DUCKDB_MEMORY_LIMIT or 4GB, as in profiles.yml)")
    parser.add_argument("--without-optional-sources", action="store_true",
                        help="no nps or marketing spend tables (crm_using_nps/crm_using_marketing_spend false)")
    parser.add_argument("--skip-peer", action="store_true", help="do not run the pandas peer")
    parser.add_argument("--skip-floor", action="store_true", help="do not time the engine floor")
    parser.add_argument("--keep-data", action="store_true", help="keep the DuckDB files after the run")
    parser.add_argument("--dbt-args", nargs=argparse.REMAINDER, default=[],
                        help="extra arguments for dbt build, e.g. --dbt-args --exclude resource_type:unit_test")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()
    args.load_at_start = os.getloadavg()
    if args.load_at_start[0] > (os.cpu_count() or 1) / 2:
        log(f"warning: load average {args.load_at_start[0]:.1f} on {os.cpu_count()} cores; figures will be noisy")

    results = [bench_size(n, args) for n in args.sizes]
    print(report(results, args))
    if args.json:
        args.json.write_text(json.dumps([_as_json(r) for r in results], indent=2))
    return 0 if all(r.dbt and r.dbt.returncode == 0 for r in results) else 1


def _as_json(r: SizeResult) -> dict:
    return {
        "n_orders": r.n_orders, "raw_rows": r.raw_rows, "generate_seconds": r.generate_seconds,
        "floor_seconds": r.floor_seconds,
        "dbt_parse_seconds": r.parse.seconds if r.parse else None,
        "dbt_wall_seconds": r.dbt.seconds if r.dbt else None,
        "dbt_peak_bytes": r.dbt.peak_bytes if r.dbt else None,
        "dbt_elapsed_seconds": r.dbt_elapsed_seconds, "model_seconds": r.model_seconds,
        "test_seconds": r.test_seconds, "slowest_models": r.slowest_models, "failures": r.failures,
        "peer_wall_seconds": r.peer.seconds if r.peer else None,
        "peer_peak_bytes": r.peer.peak_bytes if r.peer else None, "peer_timings": r.peer_timings,
    }


if __name__ == "__main__":
    sys.exit(main())
