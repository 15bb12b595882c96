"""Copies of the host project in integration_tests/ with their own settings, the way a user sets them.

`Host` copies integration_tests/ into a scratch folder, points its packages.yml at this package
(`local:` by absolute path, since the copy lives elsewhere), and writes the given vars into the
copy's own dbt_project.yml: a setting is tested where users set it, never through `--vars`, which
dbt applies to a package's dbt_project.yml too and so would hide a switch that only works when the
package is the root project.

The warehouse is DuckDB (a file inside the copy), or PostgreSQL when CRM_TARGET=postgres (the
throw-away cluster of scripts/engines/engines.sh; `make test-engines` runs the host tests there).
Each copy builds into a schema of its own, its seeds into <schema>_shop_raw.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import yaml

from dbt_project_runner import ROOT, postgres_connection, run_dbt

HOST = ROOT / "integration_tests"
ENGINE = os.environ.get("CRM_TARGET", "duckdb")
LEFT_OUT = shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb", "*.duckdb.wal")


class Host:
    """integration_tests/ copied into folder/host with `vars` set (and `without_vars` removed) in
    its dbt_project.yml, building into `schema`."""

    def __init__(self, folder: Path, vars: dict | None = None, *, without_vars: tuple[str, ...] = (),
                 schema: str = "main"):
        self.project = folder / "host"
        self.schema = schema
        shutil.copytree(HOST, self.project, ignore=LEFT_OUT)
        (self.project / "packages.yml").write_text(yaml.safe_dump({"packages": [{"local": str(ROOT)}]}))
        config = yaml.safe_load((self.project / "dbt_project.yml").read_text())
        for name in without_vars:
            config["vars"].pop(name, None)
        config["vars"].update({"crm_schema": f"{schema}_shop_raw", **(vars or {})})
        (self.project / "dbt_project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        self.target_path = self.project / "target"
        self.db_path = self.project / "host.duckdb"

    def dbt(self, args: list[str], *, check: bool = True, target_path: Path | None = None):
        """dbt in the copy, with its own DuckDB file, target and package folders inside it."""
        return run_dbt(args, db_path=self.db_path, target_path=target_path or self.target_path,
                       project_dir=self.project, check=check,
                       env={"CRM_PACKAGES_INSTALL_PATH": str(self.project / "dbt_packages"),
                            "CRM_TARGET": ENGINE, "CRM_HOST_SCHEMA": self.schema})

    def build(self, *build_args: str) -> None:
        """deps, seed and build (with `build_args`) from an empty warehouse schema."""
        if ENGINE == "postgres":
            self._postgres(lambda cursor: [cursor.execute(f'drop schema if exists "{self.schema}{suffix}" cascade')
                                           for suffix in ("", "_shop_raw", "_dbt_test__audit")])
        for command in (["deps"], ["seed"], ["build", *build_args]):
            self.dbt(command)

    def query(self, sql: str) -> list[tuple]:
        if ENGINE == "postgres":
            return self._postgres(lambda cursor: (cursor.execute(sql), cursor.fetchall())[1])
        con = duckdb.connect(str(self.db_path), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def rows(self, sql: str) -> list[dict]:
        """query() as dicts, with the column names as the engine returns them."""
        def fetch(cursor):
            cursor.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        if ENGINE == "postgres":
            return self._postgres(fetch)
        con = duckdb.connect(str(self.db_path), read_only=True)
        try:
            return fetch(con.cursor())
        finally:
            con.close()

    def run_results(self) -> list[dict]:
        return json.loads((self.target_path / "run_results.json").read_text())["results"]

    def listed(self) -> dict[str, set[str]]:
        """What `dbt ls` lists, by resource type: the package's resources' names."""
        result = self.dbt(["ls", "--resource-type", "all", "--output", "json",
                           "--output-keys", "name", "resource_type", "package_name"])
        by_type: dict[str, set[str]] = {}
        for line in result.stdout.splitlines():
            if line.startswith("{"):
                node = json.loads(line)
                if node.get("package_name") == "crm_retention":
                    by_type.setdefault(node["resource_type"], set()).add(node["name"])
        return by_type

    @staticmethod
    def _postgres(work):
        con = postgres_connection()
        try:
            with con.cursor() as cursor:
                return work(cursor)
        finally:
            con.close()


def unit_test_names() -> set[str]:
    """The names of the package's unit tests, from its YAML."""
    names = set()
    for path in (ROOT / "models").rglob("*.yml"):
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", []):
            names.add(test["name"])
    return names
