#!/usr/bin/env bash
# dbt-project-evaluator's rules on this package, the way a host project sees it.
#
#   bash scripts/project_evaluator/run.sh EVALUATOR_DIR [DBT_UTILS_DIR]
#
# EVALUATOR_DIR is a checkout of github.com/dbt-labs/dbt-project-evaluator (tested with 1.3.x),
# DBT_UTILS_DIR one of dbt-labs/dbt-utils, which the evaluator needs; without it the evaluator's
# own packages.yml fetches dbt_utils from dbt Hub. Nothing here is committed or installed into
# the package: a throw-away copy of integration_tests/ installs this package and the evaluator as
# `local:` packages, builds only the evaluator's models and prints what each rule reports for
# this package's resources (the host project's own files are excluded). The settings that fit a
# package, and the exceptions with their reasons, are in docs/project_evaluator.md and
# dbt_project_evaluator_exceptions.csv beside this script. Exits non-zero when a rule reports
# anything that is not an exception.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
evaluator="$(cd "${1:?usage: run.sh EVALUATOR_DIR [DBT_UTILS_DIR]}" && pwd)"
dbt_utils="${2:-}"
dbt="${DBT:-$repo/.venv/bin/dbt}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cp -r "$repo/integration_tests" "$work/host"
rm -rf "$work/host/target" "$work/host/logs" "$work/host/dbt_packages" "$work/host/package-lock.yml"
cp -r "$evaluator" "$work/evaluator"
if [ -n "$dbt_utils" ]; then
    printf 'packages:\n  - local: %s\n' "$(cd "$dbt_utils" && pwd)" > "$work/evaluator/packages.yml"
fi
printf 'packages:\n  - local: %s\n  - local: %s\n' "$repo" "$work/evaluator" > "$work/host/packages.yml"
cp "$here/dbt_project_evaluator_exceptions.csv" "$work/host/seeds/"
cat >> "$work/host/dbt_project.yml" <<'YAML'

# ---- added by scripts/project_evaluator/run.sh ----
  # Freshness is opt-in: on, so that the evaluator sees the sources that can have it.
  crm_freshness_warn_after_hours: 24
  crm_freshness_error_after_hours: 48
  # The host's own models and tests are fixtures of the test suite, not the package.
  exclude_paths_from_project: [".*"]
  # The package's conventions (docs/project_evaluator.md): marts carry the package namespace
  # crm__ (the evaluator reads the prefix up to the first underscore: crm_), not fct_/dim_, and
  # multi-column keys are tested with the package's own unique_combination test.
  marts_prefixes: ["crm_"]
  primary_key_test_macros:
    - ["dbt.test_unique", "dbt.test_not_null"]
    - ["crm_retention.test_unique_combination"]
YAML
python3 - "$work/host/dbt_project.yml" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
head, added = text.split("# ---- added by scripts/project_evaluator/run.sh ----\n")
# The added vars go under the host's `vars:` block; the exceptions seed replaces the evaluator's.
head = head.replace("\nvars:\n", "\nvars:\n" + added, 1)
head += "\n  dbt_project_evaluator:\n    dbt_project_evaluator_exceptions:\n      +enabled: false\n" if "\nseeds:\n" in head else ""
open(path, "w").write(head)
PY

export DBT_PROFILES_DIR="$work/host" CRM_DUCKDB_PATH="$work/host/evaluator.duckdb" DBT_SEND_ANONYMOUS_USAGE_STATS=false
cd "$work/host"
"$dbt" deps --quiet
"$dbt" seed --select dbt_project_evaluator_exceptions --quiet
# Rule tests warn by default; the report below decides.
"$dbt" build --select package:dbt_project_evaluator --exclude resource_type:seed --quiet || true

"$repo/.venv/bin/python" - "$CRM_DUCKDB_PATH" <<'PY'
import sys
import duckdb

con = duckdb.connect(sys.argv[1], read_only=True)
rules = [name for (name,) in con.execute(
    "select table_name from information_schema.tables where table_name like 'fct\\_%' escape '\\' order by 1"
).fetchall()]
coverage = {"fct_documentation_coverage": "documentation_coverage_pct", "fct_test_coverage": "test_coverage_pct"}
reported = 0
for rule in rules:
    if rule in coverage:
        value = con.execute(f"select {coverage[rule]} from main.{rule}").fetchone()[0]
        print(f"{rule}: {value}%")
        reported += value < 100
        continue
    cursor = con.execute(f"select * from main.{rule}")
    rows = cursor.fetchall()
    print(f"{rule}: {len(rows)}")
    for row in rows:
        print("    " + ", ".join(str(value) for value in row))
    reported += len(rows)
print(f"\n{len(rules)} rules, {reported} findings")
sys.exit(1 if reported else 0)
PY
