"""A newcomer's first build: `make demo` ends clean, with no warning about the package's own demo.

The demo reports in USD and ships the exchange rates of its EUR and GBP orders, so no order is
rejected for a missing rate and every source's rejected share stays under the warning threshold.
"""

from __future__ import annotations

import json
import re


def test_make_demo_ends_without_a_warning_or_an_error(demo_build):
    summary = re.search(r"Done\. PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+)", demo_build.output)
    assert summary, demo_build.output[-2000:]
    passed, warned, errored, skipped = map(int, summary.groups())
    assert (warned, errored, skipped) == (0, 0, 0), demo_build.output[-4000:]
    results = json.loads((demo_build.target_path / "run_results.json").read_text())["results"]
    statuses = {result["status"] for result in results}
    assert statuses <= {"success", "pass", "no-op"}, statuses
    assert passed > 100
    # The guards ran and passed: every source's share is under crm_rejected_share_warn.
    guards = {r["unique_id"].split(".")[2]: r["status"] for r in results
              if r["unique_id"].split(".")[2].startswith("rejected_share_")}
    assert set(guards) == {f"rejected_share_base_crm__{s}_{s}" for s in
                           ["orders", "customers", "nps_responses", "marketing_spend", "exchange_rates"]}
    assert set(guards.values()) == {"pass"}, guards


def test_the_demo_converts_its_foreign_orders(demo_build):
    reasons = {row["rejection_reason"]: row["n"] for row in demo_build.rows(
        "select rejection_reason, count(*) as n from main.crm__rejected_rows where source_table = 'orders' group by 1")}
    assert "missing_exchange_rate" not in reasons, reasons
    converted = demo_build.rows("select distinct currency from main.stg_crm__orders "
                                "where exchange_rate <> 1 order by 1")
    assert [row["currency"] for row in converted] == ["EUR", "GBP"]
