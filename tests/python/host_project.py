"""A copy of the host project in integration_tests/ with its own settings, the way a user sets them.

`host_copy` copies integration_tests/ into a scratch folder, points its packages.yml at this
package (`local:` by absolute path, since the copy lives elsewhere), and writes the given vars into
the copy's own dbt_project.yml: a switch is tested where users set it, never through `--vars`,
which dbt applies to a package's dbt_project.yml too and so would hide a switch that only works
when the package is the root project.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from dbt_project_runner import ROOT, run_dbt

HOST = ROOT / "integration_tests"
LEFT_OUT = shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb", "*.duckdb.wal")


def host_copy(folder: Path, vars: dict | None = None, *, without_vars: tuple[str, ...] = ()) -> Path:
    """integration_tests/ copied into folder/host with `vars` set (and `without_vars` removed) in
    its dbt_project.yml; returns the copy's path."""
    project = folder / "host"
    shutil.copytree(HOST, project, ignore=LEFT_OUT)
    (project / "packages.yml").write_text(yaml.safe_dump({"packages": [{"local": str(ROOT)}]}))
    config = yaml.safe_load((project / "dbt_project.yml").read_text())
    for name in without_vars:
        config["vars"].pop(name, None)
    config["vars"].update(vars or {})
    (project / "dbt_project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return project


def run_host(project: Path, args: list[str], *, check: bool = True, env: dict | None = None):
    """dbt in the host copy, with its own DuckDB file, target and package folders inside it."""
    return run_dbt(args, db_path=project / "host.duckdb", target_path=project / "target",
                   project_dir=project, check=check,
                   env={"CRM_PACKAGES_INSTALL_PATH": str(project / "dbt_packages"), **(env or {})})


def listed(project: Path) -> dict[str, set[str]]:
    """What `dbt ls` lists in the host, by resource type: the package's resources' names."""
    result = run_host(project, ["ls", "--resource-type", "all", "--output", "json",
                                "--output-keys", "name", "resource_type", "package_name"])
    by_type: dict[str, set[str]] = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            node = json.loads(line)
            if node.get("package_name") == "crm_retention":
                by_type.setdefault(node["resource_type"], set()).add(node["name"])
    return by_type
