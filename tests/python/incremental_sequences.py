"""Seeded random sequences of raw-data changes and incremental runs (issue: incremental mode
cannot drift).

A sequence starts from a small generated shop built in incremental mode, then applies random
steps, each a change a real loader makes followed by a dbt run:

- appended orders of the day, for known customers and for new guests;
- late rows: an old order arriving now (inside the lookback, by its updated_at) or an order whose
  change time is already older than the lookback;
- in-place updates with a newer updated_at (amount, status, date), cancellations, orders moved to
  another customer (in place, or as a newer version appended beside the old one);
- hard deletes of raw order and customer rows, and changed customer records;
- interrupted runs: a random subset of the models runs, as when a build is killed or a selector
  is used; the next normal run must repair everything;
- a full refresh of the same rows into another schema (a host project whose generate_schema_name,
  and on DuckDB `+database`, put the package's models elsewhere, with the same target schema),
  between an interrupted run and the next: each keeps its own progress;
- a changed setting (crm_period or the churn window): the run must stop with its message.

After every normal run each mart must equal the Python reference computed from the raw rows as
they are now (tests/python/reference.py, independent of the SQL), i.e. what a full refresh gives.
A run that found raw rows deleted or beyond the lookback must instead stop naming
`crm_incremental_full_check`; the sequence then runs that fix and compares.
The warehouse is DuckDB, or PostgreSQL when CRM_TARGET=postgres (the throw-away cluster of
scripts/engines/engines.sh).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import yaml

import reference as ref

from dbt_project_runner import ROOT, postgres_connection, run_dbt, source_vars, write_raw_tables
from mart_comparison import MART_KEYS, compare_rows, expected_marts, small_dataset
from raw_schema import RAW_COLUMNS

# The marts compared: every mart of this shop (no NPS source, no segments).
COMPARED = [name for name in MART_KEYS if name != "crm__nps" and not name.endswith("_by_segment")]
# What a normal run builds: every incremental model and everything the compared marts read (the
# marts nothing here compares, such as survival and the raw-row outcomes, are left out).
SELECTED = ["config.materialized:incremental", *(f"+{name}" for name in COMPARED)]
SETTINGS = {"crm_incremental": True, "crm_incremental_lookback_days": 2, "crm_using_predictions": False}
# The models an interrupted run may consist of (any subset, in dbt's order).
INTERRUPTIBLE = ["base_crm__orders", "base_crm__customers", "stg_crm__order_changes", "int_crm__orders",
                 "int_crm__customer_spells", "int_crm__customer_periods", "int_crm__customer_cohorts",
                 "int_crm__customer_purchase_summaries", "int_crm__customer_order_gaps",
                 "crm__customers", "crm__retention"]
SETTING_STOP = "changed since incremental table"
# The reconciliation's failure (raw rows deleted or beyond the lookback) and the fix it names.
RECONCILE_STOP = "does not match the raw table"
FULL_CHECK = {"crm_incremental_full_check": True}
# A host project that installs the package and puts its models in <target schema>_elsewhere.
ELSEWHERE = "elsewhere"


class Warehouse:
    """Where a sequence's raw tables and models live."""

    def write_raw(self, tables: dict[str, list[dict]]) -> None:
        raise NotImplementedError

    def dbt(self, args: list[str], vars: dict, project: Path = ROOT) -> subprocess.CompletedProcess:
        raise NotImplementedError

    def table(self, name: str) -> list[dict]:
        raise NotImplementedError

    def host_elsewhere(self) -> Path:
        """A host project installing the package (`local:`) whose own generate_schema_name puts
        the package's models in <target schema>_elsewhere, with the same target schema as the
        runs of the package itself; on DuckDB its `+database` also puts them in another database
        file. (tests/python/test_incremental_host.py puts them elsewhere by `+schema`.)"""
        project = self.path / "host_elsewhere"
        if not project.exists():
            (project / "macros").mkdir(parents=True)
            config = {"name": "crm_host_elsewhere", "version": "1.0.0", "config-version": 2, "profile": "crm_retention"}
            profiles = yaml.safe_load((ROOT / "profiles.yml").read_text())
            if isinstance(self, DuckDBWarehouse):
                profiles["crm_retention"]["outputs"]["duckdb"]["attach"] = [
                    {"path": str(self.path / f"{ELSEWHERE}.duckdb"), "alias": ELSEWHERE}]
                config["models"] = {"crm_retention": {"+database": ELSEWHERE}}
            (project / "dbt_project.yml").write_text(yaml.safe_dump(config))
            (project / "profiles.yml").write_text(yaml.safe_dump(profiles))
            (project / "macros" / "generate_schema_name.sql").write_text(
                "{% macro generate_schema_name(custom_schema_name, node) -%}\n"
                f"    {{{{ target.schema }}}}{{{{ '_{ELSEWHERE}' if node.package_name == 'crm_retention' else '' }}}}\n"
                "{%- endmacro %}\n")
            (project / "packages.yml").write_text(yaml.safe_dump({"packages": [{"local": str(ROOT)}]}))
            assert self.dbt(["deps"], {}, project).returncode == 0
        return project


@dataclass
class DuckDBWarehouse(Warehouse):
    path: Path

    def write_raw(self, tables):
        write_raw_tables(self.path / "crm.duckdb", tables)

    def dbt(self, args, vars, project=ROOT):
        return run_dbt([*args, "--vars", json.dumps(vars)], db_path=self.path / "crm.duckdb",
                       target_path=project / "target" if project != ROOT else self.path / "target",
                       project_dir=project, check=False, in_process=True)

    def table(self, name):
        # not read_only: dbt, run in this process, holds the file open read-write
        con = duckdb.connect(str(self.path / "crm.duckdb"))
        try:
            cursor = con.execute(f"select * from main.{name}")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        finally:
            con.close()


@dataclass
class PostgresWarehouse(Warehouse):
    path: Path
    schema: str

    def _connect(self):
        return postgres_connection()

    def reset(self):
        con = self._connect()
        with con.cursor() as cursor:
            for schema in (self.schema, f"{self.schema}_raw", f"{self.schema}_{ELSEWHERE}"):
                cursor.execute(f'drop schema if exists "{schema}" cascade')
            cursor.execute(f'create schema "{self.schema}_raw"')
        con.close()

    def write_raw(self, tables):
        con = self._connect()
        with con.cursor() as cursor:
            for name, rows in tables.items():
                columns = RAW_COLUMNS[name]
                present = [c for c in columns if any(c in row for row in rows)] or columns
                relation = f'"{self.schema}_raw"."src_{name}"'
                cursor.execute(f"drop table if exists {relation}")
                cursor.execute(f"create table {relation} ({', '.join(f'{chr(34)}{c}{chr(34)} text' for c in present)})")
                for row in rows:
                    cursor.execute(
                        f"insert into {relation} values ({', '.join('%s' for _ in present)})",
                        [None if row.get(c) is None else str(row.get(c)) for c in present])
        con.close()

    def dbt(self, args, vars, project=ROOT):
        vars = {**vars, "crm_schema": f"{self.schema}_raw"}
        return run_dbt([*args, "--vars", json.dumps(vars)], db_path=self.path / "unused.duckdb",
                       target_path=project / "target" if project != ROOT else self.path / "target",
                       project_dir=project, check=False, env={"CRM_TARGET": "postgres", "CRM_PG_SCHEMA": self.schema},
                       in_process=True)

    def table(self, name):
        con = self._connect()
        with con.cursor() as cursor:
            cursor.execute(f'select * from "{self.schema}"."{name}"')
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, row)) for row in cursor.fetchall()]
        con.close()
        return rows


def warehouse_for(tmp_path: Path, number: int) -> Warehouse:
    if os.environ.get("CRM_TARGET") == "postgres":
        warehouse = PostgresWarehouse(tmp_path, f"crm_seq_{number}")
        warehouse.reset()
        return warehouse
    return DuckDBWarehouse(tmp_path)


@dataclass
class Sequence:
    """One seeded sequence: the raw rows as the loader left them, and the clock of the feed."""

    seed: int
    warehouse: Warehouse
    rng: random.Random = field(init=False)
    raw: dict = field(init=False)
    clock: date = field(init=False)
    settings: dict = field(init=False)
    log: list[str] = field(default_factory=list)
    next_id: int = 0

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        shop = small_dataset(self.seed, customers=40, days=300)
        self.raw = {"orders": shop["orders"], "customers": shop["customers"]}
        # The loader's customers table has its updated_at column from the start (null until a
        # change): a column added later stops the run naming --full-refresh (the drift tests).
        for row in self.raw["customers"]:
            row.setdefault("updated_at", None)
        days = [ref.parse_timestamp(r["ordered_at"]) for r in self.raw["orders"]]
        self.clock = max(d.date() for d in days if d and d.year < 2026) + timedelta(days=1)
        self.settings = {**source_vars(self.raw), **SETTINGS}

    # ---------- the loader's changes ----------

    def stamp(self, day: date | None = None) -> str:
        moment = datetime.combine(day or self.clock, datetime.min.time()) + timedelta(seconds=self.rng.randrange(86400))
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def order_id(self) -> str:
        self.next_id += 1
        return f"S{self.seed}N{self.next_id:04d}"

    def customers(self) -> list[str]:
        return sorted({r["customer_id"] for r in self.raw["orders"] if r.get("customer_id")})

    def new_order(self, customer_id: str, ordered_at: str, updated_at: str) -> dict:
        return {"order_id": self.order_id(), "customer_id": customer_id, "ordered_at": ordered_at,
                "status": self.rng.choice(["completed", "paid", "cancelled"]),
                "amount": f"{self.rng.randrange(500, 20000) / 100:.2f}", "refunded_amount": None,
                "currency": "USD", "updated_at": updated_at}

    def append(self):
        for _ in range(self.rng.randint(1, 4)):
            guest = self.rng.random() < 0.25
            customer = f"G{self.seed}_{self.next_id}" if guest else self.rng.choice(self.customers())
            at = self.stamp()
            self.raw["orders"].append(self.new_order(customer, at, at))
        return "append"

    def late_inside(self):
        ordered = self.stamp(self.clock - timedelta(days=self.rng.randint(30, 250)))
        self.raw["orders"].append(self.new_order(self.rng.choice(self.customers()), ordered, self.stamp()))
        return "late row inside the lookback"

    def late_beyond(self):
        # a change time older than the lookback (2 days before the newest change)
        at = self.stamp(self.clock - timedelta(days=self.rng.randint(10, 60)))
        self.raw["orders"].append(self.new_order(self.rng.choice(self.customers()), at, at))
        return "late row beyond the lookback"

    def pick_order(self) -> dict:
        return self.rng.choice([r for r in self.raw["orders"] if r.get("order_id")])

    def update(self):
        row = self.pick_order()
        change = self.rng.choice(["amount", "status", "ordered_at"])
        if change == "amount":
            row["amount"] = f"{self.rng.randrange(100, 50000) / 100:.2f}"
        elif change == "status":
            row["status"] = self.rng.choice(["completed", "cancelled", "refunded", "paid"])
        else:
            row["ordered_at"] = self.stamp(self.clock - timedelta(days=self.rng.randint(0, 200)))
        row["updated_at"] = self.stamp()
        return f"in-place update of {row['order_id']} ({change})"

    def cancel(self):
        row = self.pick_order()
        row["status"], row["updated_at"] = "cancelled", self.stamp()
        return f"cancellation of {row['order_id']}"

    def move(self):
        row = self.pick_order()
        row["customer_id"], row["updated_at"] = self.rng.choice(self.customers()), self.stamp()
        return f"in-place move of {row['order_id']}"

    def move_by_new_version(self):
        row = self.pick_order()
        self.raw["orders"].append({**row, "customer_id": self.rng.choice(self.customers()), "updated_at": self.stamp()})
        return f"new version of {row['order_id']} for another customer"

    def respell(self):
        # A loader that pads ids: a new version of an order whose id arrives with any whitespace
        # the staging layer trims (CR from a CRLF export, NEL, line separators, Unicode spaces,
        # a byte-order mark) is the same order.
        row = self.pick_order()
        character = self.rng.choice(ref.WHITESPACE)
        padded = self.rng.choice(["{0}{1}{0}", "{0}{1}", "{1}{0}", "{1}\r\n"]).format(
            character, row["order_id"].strip(ref.WHITESPACE))
        self.raw["orders"].append({**row, "order_id": padded, "status": self.rng.choice(["completed", "cancelled"]),
                                   "updated_at": self.stamp()})
        return f"new version of {row['order_id']!r} spelled {padded!r}"

    def blank_id(self):
        # A row without an id (rejected, and re-read by every run).
        at = self.stamp()
        self.raw["orders"].append({**self.new_order(self.rng.choice(self.customers()), at, at),
                                   "order_id": self.rng.choice([None, "", self.rng.choice(ref.WHITESPACE) * 2, "\t\u00a0\r\n"])})
        return "order row without an id"

    def delete(self):
        removed = []
        for _ in range(self.rng.randint(1, 2)):
            row = self.pick_order()
            self.raw["orders"].remove(row)
            removed.append(row["order_id"])
        return f"deleted order rows {removed}"

    def customer_change(self):
        rows = [r for r in self.raw["customers"] if r.get("customer_id")]
        row = self.rng.choice(rows)
        if self.rng.random() < 0.5:
            self.raw["customers"].remove(row)
            return f"deleted customer row {row['customer_id']}"
        row["country"], row["updated_at"] = self.rng.choice(["NL", "US", "JP"]), self.stamp()
        return f"changed customer {row['customer_id']}"

    def refresh_elsewhere(self):
        # The same raw rows, fully refreshed into another schema by a host project: its progress
        # through the order log must not be taken for this schema's.
        result = self.warehouse.dbt(["run", "--full-refresh", "-s", *SELECTED], self.settings, self.warehouse.host_elsewhere())
        assert result.returncode == 0, self.fail(f"full refresh elsewhere failed:\n{result.stdout[-3000:]}")
        return f"full refresh into the schema {ELSEWHERE}"

    CHANGES = ["append", "append", "late_inside", "late_beyond", "update", "cancel", "move",
               "move_by_new_version", "respell", "blank_id", "delete", "customer_change"]

    # ---------- runs ----------

    def run(self, args: list[str], settings: dict | None = None) -> subprocess.CompletedProcess:
        self.warehouse.write_raw(self.raw)
        if args == ["run"]:
            args = ["run", "-s", *SELECTED]
        return self.warehouse.dbt(args, settings or self.settings)

    def problems(self, period: str = "month") -> list[str]:
        expected = expected_marts(self.raw, period=period)
        problems = []
        for name in COMPARED:
            actual, wanted = self.warehouse.table(name), expected[name]
            columns = list(wanted[0].keys()) if wanted else None
            problems += compare_rows(name, actual, wanted, columns=columns)
        return problems

    def fail(self, message: str) -> str:
        return f"sequence seed {self.seed}: {message}\nsteps: {self.log}"

    def start(self):
        result = self.run(["run"])
        assert result.returncode == 0, self.fail(f"first build failed:\n{result.stdout[-3000:]}")
        problems = self.problems()
        assert not problems, self.fail("\n".join(problems[:20]))

    def step(self):
        self.clock += timedelta(days=1)
        kind = self.rng.choice(["change"] * 6 + ["interrupted"] * 2 + ["setting"])
        if kind == "setting":
            changed = self.rng.choice([{"crm_period": "week"}, {"crm_churn_window_days": 120}])
            self.log.append(f"changed setting {changed}")
            result = self.run(["run"], {**self.settings, **changed})
            name = next(iter(changed))
            assert result.returncode != 0 and SETTING_STOP in result.stdout and name in result.stdout \
                and "--full-refresh" in result.stdout, self.fail(f"a changed {name} did not stop the run:\n{result.stdout[-3000:]}")
        else:
            self.log.append(getattr(self, self.rng.choice(self.CHANGES))())
            if kind == "interrupted":
                chosen = sorted(self.rng.sample(INTERRUPTIBLE, self.rng.randint(1, 4)), key=INTERRUPTIBLE.index)
                self.log.append(f"interrupted run of {chosen}")
                result = self.run(["run", "-s", *chosen])
                # a base table may stop it with the reconciliation's message; the fix comes later
                assert result.returncode == 0 or RECONCILE_STOP in result.stdout, \
                    self.fail(f"partial run failed:\n{result.stdout[-3000:]}")
                if self.rng.random() < 0.5:
                    self.log.append(self.refresh_elsewhere())
                # and the loader goes on before the next normal run
                self.log.append(getattr(self, self.rng.choice(self.CHANGES))())
            result = self.run(["run"])
            if result.returncode != 0 and RECONCILE_STOP in result.stdout:
                # a delete or a row beyond the lookback: the run stops naming the fix, which the
                # operator then runs
                assert "crm_incremental_full_check: true" in result.stdout, self.fail(result.stdout[-3000:])
                self.log.append("reconciliation stopped the run; rerun with the full check")
                result = self.run(["run"], {**self.settings, **FULL_CHECK})
            assert result.returncode == 0, self.fail(f"incremental run failed:\n{result.stdout[-3000:]}")
        problems = self.problems()
        assert not problems, self.fail("\n".join(problems[:20]))


def run_sequence(tmp_path: Path, seed: int, steps: int) -> None:
    sequence = Sequence(seed, warehouse_for(tmp_path, seed))
    sequence.start()
    for _ in range(steps):
        sequence.step()
