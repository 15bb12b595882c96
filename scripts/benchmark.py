"""Scale benchmark: a full `dbt build` of the package on N generated orders, beside its peers.

For each size N it generates the raw tables inside a DuckDB file (scripts/bench_data.py), then,
in the same run and on the same file, each in its own process:

1. the engine floor: one DuckDB query that reads every order once and aggregates by customer
   (in this process: no model can do less work than that);
2. the peers, programs in benchmarks/ that compute the same retention, cohort, repeat-rate, AOV
   and CLV tables from the same raw tables (tests/python/test_peers.py, in the slow suite,
   checks they equal the marts): the pandas peer (benchmarks/pandas_peer.py), the polars peer
   (benchmarks/polars_peer.py) and the hand-written DuckDB SQL program
   (benchmarks/duckdb_program.py, writing its tables into the file);
3. `dbt parse`, then `dbt build` (every model and test of the package's default build), pointed
   at the file through the source vars, with its target and log folders under the work directory.

It prints, per N: wall seconds, the models' own execution seconds (run_results.json), peak memory
of each process (ru_maxrss of the child as reaped by wait4, which covers the children it reaped),
the slowest models, and each figure beside its target (issue 11, at TARGET_SIZE orders):

- the `dbt build` wall is at most 2x the polars peer's wall;
- the models' own execution (their seconds summed from run_results.json) is at most 2x the
  DuckDB program's wall;
- dbt's peak memory is at most 2 GiB;
- the models' execution grows at most 5.5x from TARGET_SIZE to GROWTH_SIZE orders (5x the data).

    python scripts/benchmark.py                      # 1M and 10M orders
    python scripts/benchmark.py --sizes 1000000 10000000 50000000
    python scripts/benchmark.py --integer-ids        # bigint order_id and customer_id
    make bench SIZES="1000000 10000000 50000000" BENCH_ARGS="--integer-ids"

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
import textwrap
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

# The targets of issue 11, checked at TARGET_SIZE orders (growth: from TARGET_SIZE to GROWTH_SIZE).
TARGET_SIZE = 10_000_000
GROWTH_SIZE = 50_000_000
TARGET_BUILD_PER_POLARS = 2.0    # dbt build wall / polars peer wall
TARGET_MODELS_PER_PROGRAM = 2.0  # models' execution (sum) / DuckDB program wall
TARGET_PEAK_GIB = 2.0            # dbt build peak memory
TARGET_GROWTH = 5.5              # models' execution at GROWTH_SIZE / at TARGET_SIZE

# The peers (benchmark artefacts in benchmarks/), in the order they run: each script prints
# {"timings": ..., "rows": ...} last.
PEERS_DIR = ROOT / "benchmarks"
PEERS = {
    "pandas": "pandas_peer.py",
    "polars": "polars_peer.py",
    "duckdb_program": "duckdb_program.py",
}
PEER_LABELS = {"pandas": "pandas peer", "polars": "polars peer", "duckdb_program": "DuckDB program"}
# The pandas peer holds about 0.37 GiB per million orders: above this it is skipped unless named.
PANDAS_MAX_ORDERS = 20_000_000


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
    peers: dict = field(default_factory=dict)        # name -> Measured
    peer_timings: dict = field(default_factory=dict)  # name -> {stage: seconds}
    parse: Measured | None = None
    dbt: Measured | None = None
    dbt_elapsed_seconds: float | None = None
    model_seconds: float | None = None
    test_seconds: float | None = None
    load_before_build: float | None = None
    unit_tests: int = 0
    unit_test_seconds: float | None = None
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
    unit_tests = [r["execution_time"] for r in run["results"] if r["unique_id"].startswith("unit_test.")]
    result.unit_tests, result.unit_test_seconds = len(unit_tests), sum(unit_tests)
    result.slowest_models = sorted(models, key=lambda item: -item[1])[:8]
    # no-op: exposures and saved queries, which build nothing.
    result.failures = [f"{r['unique_id']}: {r['status']}" for r in run["results"]
                       if r["status"] not in ("success", "pass", "skipped", "no-op")]
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
                                              with_spend=not args.without_optional_sources,
                                              integer_ids=args.integer_ids)
        con.execute("checkpoint")
    result.generate_seconds = time.perf_counter() - started

    if not args.skip_floor:
        log(f"[{n_orders:,}] engine floor")
        result.floor_seconds = engine_floor(db_path, args.memory_limit)

    for name in peers_for(n_orders, args):
        log(f"[{n_orders:,}] {PEER_LABELS[name]}")
        command = [PYTHON, str(PEERS_DIR / PEERS[name]), str(db_path)]
        if args.without_optional_sources:
            command += ["--spend-table", ""]
        if name == "duckdb_program":
            command += ["--memory-limit", args.memory_limit]
        measured = run_measured(command, work / name)
        result.peers[name] = measured
        if measured.returncode == 0:
            result.peer_timings[name] = json.loads(measured.stdout.strip().splitlines()[-1])["timings"]
        else:
            log(measured.stderr[-3000:])

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
    result.load_before_build = os.getloadavg()[0]
    result.dbt = run_measured([DBT, "build", *common, *args.dbt_args], work / "dbt_build", env=env)
    read_run_results(result, work / "target")
    if result.dbt.returncode != 0:
        log(result.dbt.stdout[-4000:] + result.dbt.stderr[-2000:])
    if not args.keep_data:
        db_path.unlink(missing_ok=True)
    return result


def peers_for(n_orders: int, args: argparse.Namespace) -> list[str]:
    """The peers to run at this size: those asked for, less the pandas peer on very large data."""
    if args.peers is not None:
        return args.peers
    return [name for name in PEERS if not (name == "pandas" and n_orders > PANDAS_MAX_ORDERS)]


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


def _peer_wall(r: SizeResult, name: str) -> float | None:
    measured = r.peers.get(name)
    return measured.seconds if measured is not None and measured.returncode == 0 else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def report(results: list[SizeResult], args: argparse.Namespace) -> str:
    sizes = [r.n_orders for r in results]
    by_size = {r.n_orders: r for r in results}
    at = f"at {TARGET_SIZE // 1_000_000}M"
    lines = []
    lines.append(f"Machine: {os.cpu_count()} cores, {_memory_gib():.0f} GiB RAM; load average at start "
                 f"{args.load_at_start[0]:.1f} (1 min), {args.load_at_start[1]:.1f} (5 min)")
    lines.append(f"DuckDB: dbt threads {args.threads} (CRM_DUCKDB_THREADS), memory_limit {args.memory_limit} "
                 f"(CRM_DUCKDB_MEMORY_LIMIT), DuckDB worker threads per connection: its default "
                 f"({os.cpu_count()} = cores); duckdb {duckdb.__version__}")
    lines.append(f"Raw data: typed columns, {'bigint' if args.integer_ids else 'text'} order_id and customer_id; "
                 f"optional sources (nps, marketing spend) {'off' if args.without_optional_sources else 'on'}")
    lines.append("The build: `dbt build` of the package with the source vars (every model, data test and unit "
                 "test it runs by default), after a `dbt parse`; each program runs in its own process.")
    lines.append("")

    def row(label: str, values: list[str], target: str = "") -> None:
        lines.append(f"{label:<44}" + "".join(f"{v:>16}" for v in values) + (f"   {target}" if target else ""))

    def checked(value: float | None, limit: float, r: SizeResult, text: str) -> str:
        return text + (_verdict(value, limit, at_most=True) if r.n_orders == TARGET_SIZE else "")

    row("orders (N)", [f"{n:,}" for n in sizes], "target")
    row("raw order rows (incl. old versions)", [f"{r.raw_rows.get('orders', 0):,}" for r in results])
    row("generate raw tables, s", [_fmt(r.generate_seconds) for r in results])
    lines.append("")
    lines.append("The package")
    row("  load average before the build (1 min)", [_fmt(r.load_before_build) for r in results])
    row("  dbt build wall (parsed), s", [_fmt(r.dbt.seconds) for r in results])
    row("  dbt parse wall (cold, once), s", [_fmt(r.parse.seconds) if r.parse else "-" for r in results])
    row("  dbt execution phase, s", [_fmt(r.dbt_elapsed_seconds) for r in results])
    row("  models' execution, s (sum)", [_fmt(r.model_seconds) for r in results])
    row("  tests' execution, s (sum, data+unit)", [_fmt(r.test_seconds) for r in results])
    row("    of which unit tests: count / s", [f"{r.unit_tests} / {_fmt(r.unit_test_seconds)}" for r in results])
    peaks = [r.dbt.peak_bytes / GIB for r in results]
    row("  dbt peak memory, GiB",
        [checked(peak, TARGET_PEAK_GIB, r, _fmt(peak, digits=2)) for peak, r in zip(peaks, results)],
        f"<= {TARGET_PEAK_GIB:.0f} GiB {at}")
    row("  dbt result", ["ok" if r.dbt.returncode == 0
                         else f"FAILED {len(r.failures)}+{r.skipped} skipped" for r in results])
    lines.append("")
    lines.append("The yardsticks (same file, same run)")
    row("  engine floor query, s", [_fmt(r.floor_seconds, digits=2) for r in results])
    for name in PEERS:
        label = PEER_LABELS[name]
        row(f"  {label} wall, s", [_fmt(_peer_wall(r, name)) if name in r.peers else "-" for r in results])
        row(f"  {label} peak memory, GiB", [_fmt(r.peers[name].peak_bytes / GIB, digits=2) if name in r.peers else "-"
                                            for r in results])
    lines.append("")
    lines.append("Ratios (lower is better)")
    build_per_polars = [_ratio(r.dbt.seconds, _peer_wall(r, "polars")) for r in results]
    row("  dbt build wall / polars peer wall", [checked(v, TARGET_BUILD_PER_POLARS, r, _fmt(v, "x", 2))
                                                for v, r in zip(build_per_polars, results)],
        f"<= {TARGET_BUILD_PER_POLARS:g}x {at}")
    models_per_program = [_ratio(r.model_seconds, _peer_wall(r, "duckdb_program")) for r in results]
    row("  models' execution / DuckDB program wall", [checked(v, TARGET_MODELS_PER_PROGRAM, r, _fmt(v, "x", 2))
                                                      for v, r in zip(models_per_program, results)],
        f"<= {TARGET_MODELS_PER_PROGRAM:g}x {at}")
    row("  dbt build wall / pandas peer wall", [_fmt(_ratio(r.dbt.seconds, _peer_wall(r, "pandas")), "x", 2)
                                                for r in results])
    row("  models' execution / engine floor", [_fmt(_ratio(r.model_seconds, r.floor_seconds), "x") for r in results])
    row("  dbt build wall / engine floor", [_fmt(_ratio(r.dbt.seconds, r.floor_seconds), "x") for r in results])
    lines.append("")
    if TARGET_SIZE in by_size and GROWTH_SIZE in by_size:
        small, large = by_size[TARGET_SIZE], by_size[GROWTH_SIZE]
        growth = _ratio(large.model_seconds, small.model_seconds)
        lines.append(f"Models' execution growth {TARGET_SIZE // 1_000_000}M -> {GROWTH_SIZE // 1_000_000}M orders: "
                     f"{_fmt(growth, 'x', 2)} for 5x the orders (target <= {TARGET_GROWTH:g}x)"
                     + _verdict(growth, TARGET_GROWTH, at_most=True))
    else:
        lines.append(f"Models' execution growth: target <= {TARGET_GROWTH:g}x from {TARGET_SIZE // 1_000_000}M to "
                     f"{GROWTH_SIZE // 1_000_000}M orders; run both sizes to check it.")
    if TARGET_SIZE not in by_size:
        lines.append(f"The targets apply at {TARGET_SIZE:,} orders, which this run did not measure.")
    lines.extend(textwrap.wrap(
        "Wall: a process's elapsed seconds, Python and dbt start-up included. Models' execution: the "
        "models' execution_time summed from run_results.json (two dbt threads may overlap them). "
        "Peak memory: ru_maxrss of the process and the children it reaped. ok / MISS: the figure "
        f"against its target, at {TARGET_SIZE:,} orders only. On a loaded machine (load average "
        "above the core count) every figure is inflated; compare figures of one run.", width=100))
    for r in results:
        lines.append("")
        lines.append(f"Slowest models at {r.n_orders:,} orders (execution seconds):")
        for name, seconds in r.slowest_models:
            lines.append(f"  {seconds:8.2f}  {name}")
        for name, timings in r.peer_timings.items():
            lines.append(f"  {PEER_LABELS[name]} stages, s: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
        for name, measured in r.peers.items():
            if measured.returncode != 0:
                lines.append(f"  the {PEER_LABELS[name]} failed (exit {measured.returncode}): see {name}.err")
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
    parser.add_argument("--integer-ids", action="store_true",
                        help="generate order_id and customer_id as bigint instead of text")
    parser.add_argument("--peers", nargs="*", choices=list(PEERS), default=None,
                        help="the peers to run (default: all; the pandas peer only up to "
                             f"{PANDAS_MAX_ORDERS:,} orders); --peers with no name runs none")
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
        args.json.write_text(json.dumps([_as_json(r, args.integer_ids) for r in results], indent=2))
    return 0 if all(r.dbt and r.dbt.returncode == 0 for r in results) else 1


def _as_json(r: SizeResult, integer_ids: bool) -> dict:
    return {
        "n_orders": r.n_orders, "integer_ids": integer_ids, "raw_rows": r.raw_rows,
        "generate_seconds": r.generate_seconds,
        "floor_seconds": r.floor_seconds,
        "dbt_parse_seconds": r.parse.seconds if r.parse else None,
        "dbt_wall_seconds": r.dbt.seconds if r.dbt else None,
        "dbt_peak_bytes": r.dbt.peak_bytes if r.dbt else None,
        "dbt_elapsed_seconds": r.dbt_elapsed_seconds, "model_seconds": r.model_seconds,
        "test_seconds": r.test_seconds, "slowest_models": r.slowest_models, "failures": r.failures,
        "unit_tests": r.unit_tests, "unit_test_seconds": r.unit_test_seconds,
        "peers": {name: {"wall_seconds": m.seconds, "peak_bytes": m.peak_bytes, "returncode": m.returncode,
                         "timings": r.peer_timings.get(name)} for name, m in r.peers.items()},
    }


if __name__ == "__main__":
    sys.exit(main())
