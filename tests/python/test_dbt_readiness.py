"""Ready for the dbt versions the package claims, and adoptable: the static checks that run offline.

- `dbt parse --no-partial-parse --show-all-deprecations` reports no deprecation: every config sits
  where dbt 2 (Fusion) accepts it (custom keys under `meta`, generic-test `arguments:`, freshness
  and loaded_at_field under `config:`), which is what dbt's guidance for packages asks before
  admitting dbt 2 in `require-dbt-version`. dbt-core checks YAML and configs against dbt 2's JSON
  schema only on a few warehouse adapters (BigQuery, Databricks, Redshift, Snowflake); the parse
  here turns that check on for DuckDB too, so custom keys outside `meta` are reported offline.
- `require-dbt-version` admits dbt 2 and starts at the dbt-core that CI builds on
  (requirements-min-dbt.txt, make test-min-dbt).
- Every macro and every source column is documented, and every model has a test (what
  dbt-project-evaluator's coverage rules ask, docs/project_evaluator.md).
- Every input a dbt unit test mocks is one its model reads: dbt runs a unit test that mocks an
  input the model no longer refs and passes it silently, testing less than its description says.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dbt_project_runner import ROOT

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# dbt's deprecation events: "[WARNING][CustomKeyInConfigDeprecation]: Deprecated functionality",
# and the summary that lists them.
DEPRECATION = re.compile(r"[A-Za-z]+Deprecation\b|Deprecated functionality|DeprecationsSummary")


# dbt's own command line, with dbt 2's JSON-schema checks switched on for DuckDB.
DBT_WITH_SCHEMA_CHECKS = (
    "import sys\n"
    "import dbt.jsonschemas.jsonschemas as schemas\n"
    "schemas._JSONSCHEMA_SUPPORTED_ADAPTERS.add('duckdb')\n"
    "from dbt.cli.main import cli\n"
    "sys.argv = ['dbt', *sys.argv[1:]]\n"
    "cli()\n"
)


def parse_output(tmp_path: Path, vars: dict) -> tuple[int, str]:
    env = dict(os.environ, CRM_DUCKDB_PATH=str(tmp_path / "crm.duckdb"), DBT_TARGET_PATH=str(tmp_path / "target"),
               DBT_LOG_PATH=str(tmp_path / "logs"), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    env.pop("CRM_TARGET", None)
    command = [sys.executable, "-c", DBT_WITH_SCHEMA_CHECKS, "parse", "--no-partial-parse", "--show-all-deprecations",
               "--vars", json.dumps(vars), "--project-dir", str(ROOT), "--profiles-dir", str(ROOT)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    return result.returncode, ANSI.sub("", result.stdout + result.stderr)


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    """One parse with every optional part switched on (demo seeds, incremental mode, freshness, the
    package's self tests), so that every YAML and SQL file is read with its configs enabled."""
    tmp_path = tmp_path_factory.mktemp("readiness")
    returncode, output = parse_output(tmp_path, {
        "crm_using_demo_data": True, "crm_incremental": True, "crm_run_self_tests": True,
        "crm_freshness_warn_after_hours": 24, "crm_freshness_error_after_hours": 48,
    })
    assert returncode == 0, output
    return output, json.loads((tmp_path / "target" / "manifest.json").read_text())


def test_parse_reports_no_deprecation(parsed):
    output, _ = parsed
    deprecations = [line for line in output.splitlines() if DEPRECATION.search(line)]
    assert not deprecations, "dbt reports deprecations:\n" + "\n".join(deprecations) + "\n\n" + output


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _admits(ranges: list[str], version: str) -> bool:
    operators = {">=": lambda a, b: a >= b, "<": lambda a, b: a < b, ">": lambda a, b: a > b,
                 "<=": lambda a, b: a <= b, "==": lambda a, b: a == b}
    for bound in ranges:
        match = re.fullmatch(r"\s*(>=|<=|==|<|>)\s*([0-9.]+)\s*", bound)
        assert match, f"unexpected require-dbt-version entry {bound!r}"
        if not operators[match.group(1)](_version(version), _version(match.group(2))):
            return False
    return True


def test_require_dbt_version_matches_what_ci_builds():
    project = yaml.safe_load((ROOT / "dbt_project.yml").read_text())
    ranges = project["require-dbt-version"]
    minimum = re.search(r"^dbt-core==([0-9.]+)$", (ROOT / "requirements-min-dbt.txt").read_text(), re.M).group(1)
    pinned = re.search(r"^dbt-core~=([0-9.]+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert _admits(ranges, minimum) and _admits(ranges, pinned)
    # The claimed lower bound is the tested one: the release before it is refused.
    lower = [r for r in ranges if r.strip().startswith(">=")]
    assert lower == [f">={minimum}"], (ranges, minimum)
    # dbt 2 (Fusion) is admitted, dbt 3 is not.
    assert _admits(ranges, "2.0.0") and not _admits(ranges, "3.0.0")


def test_every_venv_that_builds_the_demo_has_the_python_models_packages():
    """The packages each Python model declares (dbt.config packages=) are pinned in every
    requirements file whose venv builds the demo: the pinned one and the lowest claimed dbt's."""
    declared = set()
    for model in (ROOT / "models").rglob("*.py"):
        for listed in re.findall(r"packages=\[([^\]]*)\]", model.read_text()):
            declared |= set(re.findall(r"\"([a-z0-9_-]+)\"", listed))
    assert declared >= {"numpy", "scipy", "pandas"}, declared
    for requirements in ("requirements.txt", "requirements-min-dbt.txt"):
        pinned = set(re.findall(r"^([a-z0-9_-]+)\s*[~=<>]", (ROOT / requirements).read_text(), re.M))
        # numpy comes with scipy and pandas, which pin a numpy they work with.
        missing = declared - {"numpy"} - pinned
        assert not missing, f"{requirements} does not install {sorted(missing)}, which the Python models import"


def test_every_macro_and_source_column_is_documented(parsed):
    """Every macro of the package (macros/_macros.yml) and every source column has a description,
    and the macro documentation names no macro that does not exist."""
    _, manifest = parsed
    macros = {m["name"]: m for m in manifest["macros"].values() if m["package_name"] == "crm_retention"}
    undocumented = sorted(name for name, m in macros.items() if not m["description"].strip())
    assert not undocumented, f"macros without a description in macros/_macros.yml: {undocumented}"
    documented = {entry["name"] for entry in yaml.safe_load((ROOT / "macros" / "_macros.yml").read_text())["macros"]}
    assert not documented - set(macros), f"macros/_macros.yml documents missing macros: {sorted(documented - set(macros))}"
    columns = [(s["name"], c["name"]) for s in manifest["sources"].values() if s["package_name"] == "crm_retention"
               for c in s["columns"].values() if not c["description"].strip()]
    assert not columns, f"source columns without a description: {columns}"


def test_every_model_has_a_test(parsed):
    _, manifest = parsed
    models = {key for key, node in manifest["nodes"].items()
              if node["resource_type"] == "model" and node["package_name"] == "crm_retention"}
    tested = {parent for node in manifest["nodes"].values() if node["resource_type"] == "test"
              for parent in node["depends_on"]["nodes"]}
    tested |= {f"model.crm_retention.{test['model']}" for test in manifest.get("unit_tests", {}).values()}
    assert models and not models - tested, f"models without a data or unit test: {sorted(models - tested)}"


def _input_name(given: str) -> str:
    """The node name a unit test's `given` input names: ref('x') -> x, source('crm', 'x') -> x."""
    match = re.fullmatch(r"""\s*(?:ref|source)\((?:\s*['"]\w+['"]\s*,)?\s*['"](\w+)['"]\s*\)\s*""", given)
    assert match, f"unexpected unit test input {given!r}"
    return match.group(1)


def test_unit_tests_mock_only_inputs_their_model_reads(parsed):
    _, manifest = parsed
    unit_tests = [test for test in manifest.get("unit_tests", {}).values() if test["package_name"] == "crm_retention"]
    assert unit_tests, "the parse holds no unit test: crm_run_self_tests no longer enables them"
    dead = []
    for test in unit_tests:
        model = manifest["nodes"][f"model.crm_retention.{test['model']}"]
        reads = {node.split(".")[-1] for node in model["depends_on"]["nodes"]}
        dead += [f"{test['name']} mocks {given['input']}, which {test['model']} does not read"
                 for given in test["given"] if _input_name(given["input"]) not in reads]
    assert not dead, "dead mocks in models/**/_*unit_tests.yml:\n" + "\n".join(dead)
