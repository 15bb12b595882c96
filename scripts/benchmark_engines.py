"""Engine benchmark: a full `dbt build` of the package on DuckDB, PostgreSQL and Spark at scale.

For each size N it generates the raw tables in DuckDB (scripts/bench_data.py), loads the same
rows with the same column types into a throw-away PostgreSQL cluster (COPY) and into a local
Spark session's metastore (Parquet tables), then runs `dbt parse` and `dbt build` on each engine
in its own process. It prints, per engine and N, the build wall seconds, the peak memory, the
slowest models, for Spark the single-partition warnings with the models running when each was
logged, the rows each unpartitioned window runs over (counted in the DuckDB build), then every
target of the engines issue beside its figure:

- on each engine the build wall grows at most 2x from 100k to 1M orders;
- at most 12x from 1M to 10M orders on PostgreSQL and DuckDB;
- at 1M orders PostgreSQL (default settings) within 3x of DuckDB's build wall, Spark (session
  mode) within 6x.

    python scripts/benchmark_engines.py                          # 100k, 1M; 10M without Spark
    python scripts/benchmark_engines.py --sizes 100000 1000000 --engines duckdb,postgres
    python scripts/benchmark_engines.py --pg-tuned work_mem=64MB  # also a tuned PostgreSQL build
    make bench-engines

PostgreSQL runs in a cluster started for the run by scripts/engines/engines.sh (defaults of
initdb, C locale, with fsync off and a free port) and removed after. Peak memory is the largest
sum, sampled twice a second, of the proportional set size (PSS) of dbt's process tree (which
holds Spark's JVM in session mode) plus, on PostgreSQL, the server's processes. Everything goes
under ./bench/engines (git-ignored; --workdir to move it). Run `bash scripts/engines/engines.sh
install` first (make bench-engines does).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DBT = str(Path(sys.executable).parent / "dbt")
ENGINES_SH = ROOT / "scripts" / "engines" / "engines.sh"
GIB = 1024 ** 3
ENGINES = ("duckdb", "postgres", "spark")
PG_SCHEMA = "crm"
# A Spark build needs about this much driver memory per million orders on top of a fixed base
# (docs/engines.md); the benchmark gives each build what the profile's default would not.
SPARK_DRIVER_MEMORY = os.environ.get("CRM_SPARK_DRIVER_MEMORY", "4g")
SINGLE_PARTITION = "Moving all data to a single partition"

# The targets.
GROWTH_SMALL = (100_000, 1_000_000, 2.0)
GROWTH_LARGE = (1_000_000, 10_000_000, 12.0)
RATIO_SIZE = 1_000_000
RATIO_LIMITS = {"postgres": 3.0, "spark": 6.0}

PG_TYPES = {"VARCHAR": "text", "TIMESTAMP": "timestamp", "DATE": "date", "INTEGER": "integer",
            "BIGINT": "bigint", "DOUBLE": "double precision"}


@dataclass
class Build:
    engine: str
    n_orders: int
    label: str
    wall: float = 0.0
    peak_bytes: int = 0
    ok: bool = False
    load_seconds: float = 0.0
    load_average: tuple = ()
    slowest: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    single_partition: dict = field(default_factory=dict)
    heap_after_gc_bytes: int = 0
    window_rows: dict = field(default_factory=dict)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------- memory ----------

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(parent, []).append(int(entry))
    return tree


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakMemory:
    """Samples the summed PSS of the process trees under `roots` until stopped; keeps the peak."""

    def __init__(self, roots: list[int]):
        self.roots, self.peak, self._stop = roots, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            tree, seen, stack = _children(), set(), list(self.roots)
            while stack:
                pid = stack.pop()
                if pid not in seen:
                    seen.add(pid)
                    stack.extend(tree.get(pid, []))
            self.peak = max(self.peak, sum(_pss(pid) for pid in seen))
            self._stop.wait(0.5)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# ---------- dbt ----------

def run_dbt(build: Build, args: list[str], env: dict, cwd: Path, output: Path,
            watch: list[int]) -> subprocess.CompletedProcess | None:
    """Runs dbt with stdout and stderr in one file (so Spark's warnings sit between dbt's lines)."""
    started = time.perf_counter()
    with open(output, "w") as handle:
        process = subprocess.Popen([DBT, *args], cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT)
        with PeakMemory([process.pid, *watch]) as memory:
            process.wait()
    build.wall = time.perf_counter() - started
    build.peak_bytes = memory.peak
    return process


def read_results(build: Build, target: Path, output: Path) -> None:
    path = target / "run_results.json"
    if path.exists():
        results = json.loads(path.read_text())["results"]
        models = [(r["unique_id"].split(".")[-1], r["execution_time"]) for r in results
                  if r["unique_id"].startswith("model.")]
        build.slowest = sorted(models, key=lambda item: -item[1])[:5]
        # no-op: exposures and saved queries, which build nothing.
        build.failures = [f"{r['unique_id']}: {r['status']}" for r in results
                          if r["status"] not in ("success", "pass", "skipped", "no-op")]
    build.ok = build.ok and not build.failures
    if build.engine == "spark":
        build.single_partition = single_partition_warnings(output.read_text(errors="replace"))
        build.heap_after_gc_bytes = heap_after_gc(output.parent)


def single_partition_warnings(text: str) -> dict[str, int]:
    """Counts Spark's single-partition warnings by the nodes (models, tests) running when each was
    logged: dbt numbers each node's START line and its result line alike."""
    node_line = re.compile(r"\b(\d+) of \d+ (START )?(.*?)[ .]*\[")
    running: dict[str, str] = {}
    counts: dict[str, int] = {}
    for line in text.splitlines():
        if match := node_line.search(line):
            index, started, description = match.groups()
            if started:
                words = description.split()
                kind = "model" if "model" in words else words[0]
                running[index] = f"{kind} {words[-1].split('.')[-1]}"
            else:
                running.pop(index, None)
        elif SINGLE_PARTITION in line:
            key = " or ".join(sorted(running.values())) or "(between nodes)"
            counts[key] = counts.get(key, 0) + 1
    return counts


GC_LINE = re.compile(r"\bGC\(\d+\) .*?(\d+)M->(\d+)M\((\d+)M\)")


def heap_after_gc(directory: Path) -> int:
    """The largest heap occupancy right after a garbage collection in the JVM's GC logs: live data
    plus what the collector left for later, so at most what the build needed at that moment (G1
    lets it grow with the heap it is given)."""
    peak = 0
    for path in directory.glob("gc-*.log"):
        for match in GC_LINE.finditer(path.read_text(errors="replace")):
            peak = max(peak, int(match.group(2)) * 1024 * 1024)
    return peak


def dbt_env(engine: str, work: Path, pg_port: int, pg_options: str = "") -> dict:
    env = dict(os.environ)
    env.update({
        "CRM_TARGET": engine,
        "CRM_DUCKDB_PATH": str(work / "raw.duckdb"),
        "CRM_PG_PORT": str(pg_port),
        "CRM_PG_SCHEMA": PG_SCHEMA,
        "CRM_SPARK_DRIVER_MEMORY": SPARK_DRIVER_MEMORY,
        "DBT_PROFILES_DIR": str(ROOT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "TZ": "UTC",
    })
    if pg_options:
        env["PGOPTIONS"] = pg_options
    return env


def dbt_build(engine: str, n_orders: int, work: Path, args: argparse.Namespace, *,
              label: str = "", pg_options: str = "", watch: list[int] = ()) -> Build:
    build = Build(engine=engine, n_orders=n_orders, label=label or engine)
    run_dir = work / build.label.replace(" ", "_")
    run_dir.mkdir(exist_ok=True)
    env = dbt_env(engine, work, args.pg_port, pg_options)
    env.update({"DBT_TARGET_PATH": str(run_dir / "target"), "DBT_LOG_PATH": str(run_dir / "logs")})
    if engine == "spark":
        # The JVM logs its garbage collections: the heap left after each is what the build held.
        env["JDK_JAVA_OPTIONS"] = f"-Xlog:gc:file={run_dir}/gc-%p.log"
    # Spark's session keeps its metastore and warehouse in the working directory, where the raw
    # tables were loaded.
    cwd = work / "spark_session" if engine == "spark" else run_dir
    common = ["--vars", json.dumps(bench_data.source_vars()), "--project-dir", str(ROOT),
              "--profiles-dir", str(ROOT)]
    log(f"[{n_orders:,}] {build.label}: dbt parse, dbt build")
    parsed = run_dbt(Build(engine, n_orders, "parse"), ["parse", *common], env, cwd, run_dir / "dbt_parse.out", [])
    build.load_average = os.getloadavg()
    process = run_dbt(build, ["build", *common], env, cwd, run_dir / "dbt_build.out", list(watch))
    build.ok = parsed.returncode == 0 and process.returncode == 0
    read_results(build, run_dir / "target", run_dir / "dbt_build.out")
    if not build.ok:
        log((run_dir / "dbt_build.out").read_text(errors="replace")[-3000:])
    return build


# ---------- loading ----------

def raw_tables(con) -> list[str]:
    return [row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_schema = ? order by 1",
        [bench_data.RAW_SCHEMA]).fetchall()]


def load_postgres(db_path: Path, work: Path, port: int) -> float:
    import psycopg2

    started = time.perf_counter()
    pg = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="crm_retention")
    pg.autocommit = True
    with duckdb.connect(str(db_path), read_only=True) as con, pg.cursor() as cursor:
        cursor.execute(f"drop schema if exists {bench_data.RAW_SCHEMA} cascade")
        cursor.execute(f"drop schema if exists {PG_SCHEMA} cascade")
        cursor.execute(f"create schema {bench_data.RAW_SCHEMA}")
        for table in raw_tables(con):
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [bench_data.RAW_SCHEMA, table]).fetchall()
            ddl = ", ".join(f"{name} {PG_TYPES.get(kind, kind.lower())}" for name, kind in columns)
            cursor.execute(f"create table {bench_data.RAW_SCHEMA}.{table} ({ddl})")
            csv_path = work / f"{table}.csv"
            con.execute(f"copy {bench_data.RAW_SCHEMA}.{table} to '{csv_path}' (format csv, header false)")
            with open(csv_path) as handle:
                cursor.copy_expert(f"copy {bench_data.RAW_SCHEMA}.{table} from stdin with (format csv)", handle)
            csv_path.unlink()
            # What a loader's autovacuum would do soon after; done now so every build sees statistics.
            cursor.execute(f"analyze {bench_data.RAW_SCHEMA}.{table}")
    pg.close()
    return time.perf_counter() - started


SPARK_LOADER = """
import json, sys
from pyspark.sql import SparkSession
from pyspark.sql.types import TimestampNTZType
spark = (SparkSession.builder.enableHiveSupport().config("spark.sql.session.timeZone", "UTC")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").getOrCreate())
schema, tables = sys.argv[1], json.loads(sys.argv[2])
spark.sql(f"create database if not exists {schema}")
for table, path in tables.items():
    frame = spark.read.parquet(path)
    for column in frame.schema:
        if isinstance(column.dataType, TimestampNTZType):
            frame = frame.withColumn(column.name, frame[column.name].cast("timestamp"))
    frame.write.mode("overwrite").format("parquet").saveAsTable(f"{schema}.{table}")
spark.stop()
"""


def load_spark(db_path: Path, work: Path) -> float:
    """Parquet files from DuckDB, saved as Parquet tables in the metastore dbt's session will use."""
    started = time.perf_counter()
    spark_dir = work / "spark_session"
    shutil.rmtree(spark_dir, ignore_errors=True)
    spark_dir.mkdir()
    files = {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        for table in raw_tables(con):
            files[table] = str(work / f"{table}.parquet")
            con.execute(f"copy {bench_data.RAW_SCHEMA}.{table} to '{files[table]}' (format parquet)")
    result = subprocess.run([PYTHON, "-c", SPARK_LOADER, bench_data.RAW_SCHEMA, json.dumps(files)],
                            cwd=spark_dir, env=dbt_env("spark", work, 0), capture_output=True, text=True)
    for path in files.values():
        Path(path).unlink()
    if result.returncode != 0:
        raise RuntimeError(f"loading Spark failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


# ---------- the run ----------

def postmaster_pid(cluster: Path) -> int:
    return int((cluster / "data" / "postmaster.pid").read_text().splitlines()[0])


def bench_size(n_orders: int, engines: list[str], args: argparse.Namespace, cluster: Path | None) -> list[Build]:
    work = args.workdir / f"orders_{n_orders}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db_path = work / "raw.duckdb"
    log(f"[{n_orders:,}] generating raw tables")
    with duckdb.connect(str(db_path)) as con:
        bench_data.generate(con, n_orders)
        con.execute("checkpoint")
    builds = []
    if "postgres" in engines:
        log(f"[{n_orders:,}] loading PostgreSQL")
        seconds = load_postgres(db_path, work, args.pg_port)
        server = [postmaster_pid(cluster)]
        builds.append(dbt_build("postgres", n_orders, work, args, watch=server))
        builds[-1].load_seconds = seconds
        for setting in (args.pg_tuned if n_orders <= args.pg_tuned_max else []):
            options = " ".join(f"-c {item}" for item in setting.split(","))
            builds.append(dbt_build("postgres", n_orders, work, args, label=f"postgres {setting}",
                                    pg_options=options, watch=server))
    if "spark" in engines and n_orders <= args.spark_max:
        log(f"[{n_orders:,}] loading Spark")
        seconds = load_spark(db_path, work)
        builds.append(dbt_build("spark", n_orders, work, args))
        builds[-1].load_seconds = seconds
    # DuckDB last: its build writes its models into the raw file the loaders read.
    if "duckdb" in engines:
        builds.append(dbt_build("duckdb", n_orders, work, args))
        if builds[-1].ok:
            builds[-1].window_rows = window_rows(db_path)
    if not args.keep_data:
        shutil.rmtree(work / "spark_session", ignore_errors=True)
        db_path.unlink(missing_ok=True)
    return builds


# The rows each window without a partition runs over (the windows a distributed engine runs on a
# single partition), counted in the DuckDB build: the package spreads every order- and
# customer-grain window, so these stay groups of values or periods (docs/engines.md). The value
# groups are the package's value_group (macros/rfm.sql) of non-negative amounts.
WINDOW_ROWS = {
    "customers (for scale)": "select count(*) from main.int_crm__customer_cohorts",
    "RFM recency groups": "select count(distinct last_order_date) from main.int_crm__customer_cohorts",
    "RFM frequency groups": "select count(distinct orders) from main.int_crm__customer_cohorts",
    "RFM monetary groups": "select count(distinct floor(ln(1 + net_revenue::double) * 8)) from main.int_crm__customer_cohorts",
    "at-risk customers (for scale)": "select count(*) from main.crm__at_risk_customers",
    "at-risk value groups": "select count(distinct floor(ln(1 + value_at_stake::double) * 8)) from main.crm__at_risk_customers",
    "order-gap lengths": "select count(*) from main.crm__order_gaps",
    "periods": "select count(*) from main.int_crm__period_spine",
}


def window_rows(db_path: Path) -> dict:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return {name: con.execute(sql).fetchone()[0] for name, sql in WINDOW_ROWS.items()}


def start_cluster(args: argparse.Namespace) -> Path:
    cluster = Path(tempfile.mkdtemp(prefix="crm-bench-pg-"))
    env = dict(os.environ, CRM_PG_PORT=str(args.pg_port))
    subprocess.run(["bash", str(ENGINES_SH), "start", str(cluster)], env=env, check=True)
    return cluster


def stop_cluster(cluster: Path) -> None:
    subprocess.run(["bash", str(ENGINES_SH), "stop", str(cluster)], check=False)
    shutil.rmtree(cluster, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------- report ----------

def verdict(value: float | None, limit: float) -> str:
    if value is None:
        return "not measured"
    return f"{value:.2f}x (target <= {limit:g}x) {'met' if value <= limit else 'MISSED'}"


def report(builds: list[Build], args: argparse.Namespace) -> str:
    lines = [f"Machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GIB:.0f} GiB"
             f" RAM; load average at start {args.load_at_start[0]:.1f}; Spark driver memory {SPARK_DRIVER_MEMORY}",
             "",
             f"{'engine':<28}{'orders':>12}{'build wall s':>14}{'peak GiB':>10}  result  slowest models (s)"]
    for b in builds:
        slowest = ", ".join(f"{name} {seconds:.1f}" for name, seconds in b.slowest[:3])
        lines.append(f"{b.label:<28}{b.n_orders:>12,}{b.wall:>14.1f}{b.peak_bytes / GIB:>10.2f}  "
                     f"{'ok' if b.ok else 'FAILED'}{'':>4}{slowest}   (load {b.load_average[0]:.1f})")
    wall = {(b.label, b.n_orders): b.wall for b in builds if b.ok}
    lines += ["", "Targets (ratios of build walls measured in this run):"]
    labels = list(dict.fromkeys(b.label for b in builds))
    for small, large, limit in (GROWTH_SMALL, GROWTH_LARGE):
        for label in labels:
            if large == 10_000_000 and label.startswith("spark"):
                continue
            ratio = (wall[(label, large)] / wall[(label, small)]
                     if (label, small) in wall and (label, large) in wall else None)
            lines.append(f"  {label}: growth {small:,} -> {large:,} orders: {verdict(ratio, limit)}")
    for label in labels:
        engine = label.split()[0]
        if engine in RATIO_LIMITS:
            ratio = (wall[(label, RATIO_SIZE)] / wall[("duckdb", RATIO_SIZE)]
                     if (label, RATIO_SIZE) in wall and ("duckdb", RATIO_SIZE) in wall else None)
            lines.append(f"  {label} / duckdb at {RATIO_SIZE:,} orders: {verdict(ratio, RATIO_LIMITS[engine])}")
    for b in builds:
        if b.engine == "spark":
            total = sum(b.single_partition.values())
            lines.append(f"\nSpark at {b.n_orders:,} orders: largest heap after a garbage collection "
                         f"{b.heap_after_gc_bytes / GIB:.2f} GiB (driver memory {SPARK_DRIVER_MEMORY})")
            lines.append(f"Spark single-partition warnings at {b.n_orders:,} orders: {total}")
            for models, count in sorted(b.single_partition.items(), key=lambda item: -item[1]):
                lines.append(f"  {count:5}  while running {models}")
        if b.window_rows:
            lines.append(f"\nRows under the unpartitioned windows at {b.n_orders:,} orders (DuckDB build): "
                         + ", ".join(f"{name} {rows:,}" for name, rows in b.window_rows.items()))
        for failure in b.failures[:10]:
            lines.append(f"  not ok ({b.label}, {b.n_orders:,}): {failure}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: duckdb,postgres,spark")
    parser.add_argument("--spark-max", type=int, default=1_000_000,
                        help="largest size built on Spark (default 1000000)")
    parser.add_argument("--pg-tuned", nargs="*", default=[],
                        help="also build PostgreSQL with these settings, e.g. work_mem=64MB "
                             "or work_mem=64MB,max_parallel_workers_per_gather=0 (one build each)")
    parser.add_argument("--pg-tuned-max", type=int, default=10_000_000,
                        help="largest size built with the --pg-tuned settings (default 10000000)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "engines")
    parser.add_argument("--keep-data", action="store_true", help="keep the raw DuckDB file and Spark warehouse")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    engines = [name for name in args.engines.split(",") if name]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engine(s) {unknown}; known: {', '.join(ENGINES)}")
    args.workdir = args.workdir.resolve()
    args.load_at_start = os.getloadavg()
    args.pg_port = free_port()
    cluster = start_cluster(args) if "postgres" in engines else None
    builds: list[Build] = []
    try:
        for n_orders in args.sizes:
            builds += bench_size(n_orders, engines, args, cluster)
            # The figures so far, in case a later size does not finish.
            (args.workdir / "report.txt").write_text(report(builds, args) + "\n")
    finally:
        if cluster:
            stop_cluster(cluster)
    print(report(builds, args))
    if args.json:
        args.json.write_text(json.dumps([b.__dict__ for b in builds], indent=2))
    return 0 if all(b.ok for b in builds) else 1


if __name__ == "__main__":
    sys.exit(main())
