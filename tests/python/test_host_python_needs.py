"""A host whose Python has dbt-core and dbt-duckdb only, the usual install (README "Install").

The prediction models need numpy and scipy. Without them the build's one error is the package's
message naming both packages and the switch, and with `crm_using_predictions: false` in the host's
own dbt_project.yml everything else builds. Slow: it installs a virtual environment from the
package index.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import dbt_project_runner
from dbt_project_runner import ROOT
from host_project import Host

pytestmark = pytest.mark.slow
# The pins of dbt-core, dbt-duckdb and duckdb, as requirements.txt has them.
PINNED = ("dbt-core", "dbt-duckdb", "duckdb")


@pytest.fixture(scope="module")
def bare_dbt(tmp_path_factory):
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pins = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
            if re.match(r"(" + "|".join(PINNED) + r")\s*[~=<>]", line.strip())]
    assert len(pins) == len(PINNED), pins
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *pins], check=True)
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list"], check=True,
                            capture_output=True, text=True).stdout.lower()
    assert "numpy" not in listed and "scipy" not in listed, "the bare environment must lack them"
    return str(venv / "bin" / "dbt")


def test_without_numpy_the_build_names_the_packages_and_the_switch(tmp_path, bare_dbt, monkeypatch):
    monkeypatch.setattr(dbt_project_runner, "DBT", bare_dbt)
    host = Host(tmp_path)
    host.dbt(["deps"])
    host.dbt(["seed"])
    result = host.dbt(["build"], check=False)
    assert result.returncode != 0
    errors = [r for r in host.run_results() if r["status"] == "error"]
    assert [r["unique_id"].split(".")[-1] for r in errors] == ["int_crm__clv_model_fit"], result.stdout[-3000:]
    message = errors[0]["message"]
    for words in ("numpy", "scipy", "crm_using_predictions: false", "pip install numpy scipy"):
        assert words in message, message
    # Only what carries predictions waits for them; nothing else fails.
    assert not [r for r in host.run_results() if r["status"] == "fail"]


def test_without_numpy_predictions_off_builds_everything_else(tmp_path, bare_dbt, monkeypatch):
    monkeypatch.setattr(dbt_project_runner, "DBT", bare_dbt)
    host = Host(tmp_path, {"crm_using_predictions": False})
    host.build()
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in host.run_results()}
    assert "int_crm__clv_model_fit" not in statuses
    assert statuses["crm__customers"] == "success"
    assert set(statuses.values()) <= {"success", "pass", "warn", "no-op"}
    assert host.query("select count(p_alive) from main.crm__customers") == [(0,)]
