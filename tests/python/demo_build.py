"""The standalone demo as `make demo` builds it (the Makefile's vars; seed, then build), into a
scratch folder, for the tests of the first build and of the BI layer (semantic layer, dashboard,
browser).

`mf` reads the semantic manifest from `<project root>/target/` of the folder it runs in, so the
scratch folder is also a project root: it links the package's dbt_project.yml, and dbt writes its
target there. The repository's own target/ and DuckDB file are never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from dbt_project_runner import ROOT, Build, run_dbt



def makefile_demo_vars() -> dict:
    """The vars `make demo` builds with (the Makefile's DEMO_VARS), so the tests build that demo."""
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith("DEMO_VARS := "):
            return yaml.safe_load(line.removeprefix("DEMO_VARS := "))
    raise AssertionError("the Makefile has no DEMO_VARS line")


DEMO_VARS = makefile_demo_vars()
BIN = Path(sys.executable).parent


@dataclass
class DemoBuild(Build):
    project_root: Path

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("CRM_TARGET", None)
        env.update({
            "CRM_DUCKDB_PATH": str(self.db_path),
            "DBT_PROFILES_DIR": str(ROOT),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        })
        return env

    def mf(self, *args: str) -> subprocess.CompletedProcess:
        """Run the MetricFlow CLI on this build; fails with its output when it fails."""
        result = subprocess.run([str(BIN / "mf"), *args], cwd=self.project_root, env=self.environment(),
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise AssertionError(f"mf {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result


def scratch_build(directory: Path) -> DemoBuild:
    """An empty build in a scratch folder that is also a project root (so `mf` finds its
    target): the DuckDB file beside it, dbt's target inside it."""
    project_root = directory / "project"
    project_root.mkdir(parents=True)
    (project_root / "dbt_project.yml").symlink_to(ROOT / "dbt_project.yml")
    return DemoBuild(db_path=directory / "crm.duckdb", target_path=project_root / "target", output="",
                     project_root=project_root)


def build_demo(directory: Path) -> DemoBuild:
    """`make demo` in a scratch folder: seed the demo data, then build every model and test."""
    demo = scratch_build(directory)
    vars_json = json.dumps(DEMO_VARS)
    run_dbt(["seed", "--vars", vars_json], db_path=demo.db_path, target_path=demo.target_path)
    result = run_dbt(["build", "--vars", vars_json, "--exclude", "resource_type:seed"], db_path=demo.db_path,
                     target_path=demo.target_path)
    demo.output = result.stdout
    return demo
