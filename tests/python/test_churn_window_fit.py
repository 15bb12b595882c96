"""The churn-window check (the churn_window_fit test on crm__order_gaps): a shop whose customers
come back slowly, as on an electronics store's sales export, where 90% of repeat gaps are up to
198 days, warns under the default 90-day window, naming the window that fits and the var; with
that window it is silent. Expected numbers are counted by hand from the
raw rows below.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from dbt_project_runner import build, run_dbt, source_vars

START = date(2024, 1, 2)


def slow_returns_shop() -> dict[str, list[dict]]:
    """100 customers with two orders each and 20 with one. Gaps: 40 of 30 days, 50 from 100 to
    198 days (100, 102, ..., 198), 10 of 300 days. 60 gaps are 90 days or longer; the 90th gap
    in length order is 198 days (cumulative share 90/100 there)."""
    gaps = [30] * 40 + [100 + 2 * i for i in range(50)] + [300] * 10
    orders = []
    for number, gap in enumerate(gaps):
        first = START + timedelta(days=number)
        for index, day in enumerate([first, first + timedelta(days=gap)]):
            orders.append({"order_id": f"o{number}-{index}", "customer_id": f"c{number}",
                           "ordered_at": day.isoformat(), "status": "completed", "amount": "40.00"})
    for number in range(20):
        orders.append({"order_id": f"single{number}", "customer_id": f"s{number}",
                       "ordered_at": (START + timedelta(days=number)).isoformat(),
                       "status": "completed", "amount": "25.00"})
    return {"orders": orders, "customers": []}


WARNING = ("60 of the 100 repeat gaps (60.0%, above crm_churn_window_warn_share 0.2) are 90 days or "
           "longer")
ADVICE = "90% of repeat gaps are 198 days or shorter: to keep them in one spell, set crm_churn_window_days: 199"


@pytest.fixture(scope="module")
def slow_shop(tmp_path_factory):
    return build(tmp_path_factory.mktemp("slow_returns"), slow_returns_shop(), command="run",
                 extra_args=["--select", "+crm__order_gaps"])


def check(built, vars: dict) -> str:
    """The check alone over the build, with these vars."""
    all_vars = {**source_vars({"orders": [], "customers": []}), **vars}
    return run_dbt(["test", "--select", "test_name:churn_window_fit", "--vars", json.dumps(all_vars)],
                   db_path=built.db_path, target_path=built.target_path).stdout


def test_the_default_window_warns_naming_the_window_that_fits(slow_shop):
    output = " ".join(check(slow_shop, {}).split())
    assert WARNING in output
    assert ADVICE in output
    assert "WARN 1 churn_window_fit_crm__order_gaps" in output


def test_silent_with_the_window_it_names(slow_shop):
    output = check(slow_shop, {"crm_churn_window_days": 199, "crm_at_risk_days": 120})
    assert "repeat gaps" not in output
    assert "WARN=0 ERROR=0" in " ".join(output.split())
