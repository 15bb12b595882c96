"""Every switch works from the host's own dbt_project.yml, where users set it.

A copy of the host project in integration_tests/ is listed with `dbt ls` three times: with every
switch on, with every switch off, and with none set (the defaults). Each switch's models, tests,
unit tests, sources and semantic resources are written out here from the docs; the test checks
that they are listed exactly when the switch is on, and that the defaults are the documented ones.
"""

from __future__ import annotations

import pytest

from host_project import ENGINE, Host, unit_test_names

# What each switch brings, by resource type (README "Vars", docs/definitions.md).
SEMANTIC_MODELS = {"crm_retention", "crm_repeat_rate", "crm_aov", "crm_revenue_retention", "crm_nps",
                   "crm_cohort_retention", "crm_customers", "crm_clv", "crm_customer_periods",
                   "crm_period_rollups"}
SAVED_QUERIES = {"crm_headline_kpis", "crm_customer_retention", "crm_revenue_movements", "crm_repeat_purchasing",
                 "crm_cohort_heatmap", "crm_rfm_segments", "crm_lifecycle"}
SWITCHES = {
    "crm_using_predictions": {
        "model": {"int_crm__clv_settings", "int_crm__clv_model_fit", "int_crm__customer_clv_predictions",
                  "int_crm__clv_backtest_summaries", "int_crm__clv_backtest_expectations", "crm__clv_backtest",
                  "crm__clv_backtest_tracking"},
    },
    "crm_using_semantic_layer": {
        "model": {"crm__time_spine", "crm__period_rollups"}, "semantic_model": SEMANTIC_MODELS, "saved_query": SAVED_QUERIES,
    },
    "crm_using_nps": {
        "model": {"base_crm__nps_responses", "stg_crm__nps_responses", "int_crm__customer_latest_nps", "crm__nps"},
        "source": {"nps_responses"},
    },
    "crm_using_marketing_spend": {
        "model": {"base_crm__marketing_spend", "stg_crm__marketing_spend"}, "source": {"marketing_spend"},
    },
    "crm_using_exchange_rates": {"model": {"base_crm__exchange_rates"}, "source": {"exchange_rates"}},
    "crm_using_customers": {"model": {"base_crm__customers"}, "source": {"customers"}},
    "crm_segments": {
        "model": {"int_crm__customer_segments", "crm__retention_by_segment", "crm__cohort_retention_by_segment",
                  "crm__kpis_by_segment"},
        "exposure": {"crm_retention_dashboard_segments"},
    },
    "crm_incremental": {"model": {"stg_crm__order_changes"}},
}
ON = {
    "crm_using_predictions": True, "crm_using_semantic_layer": True, "crm_run_self_tests": True,
    "crm_using_nps": True, "crm_using_marketing_spend": True, "crm_using_exchange_rates": True,
    "crm_reporting_currency": "USD", "crm_using_customers": True, "crm_segments": ["acquisition_channel", "plan"],
    "crm_incremental": True,
}
OFF = {
    "crm_using_predictions": False, "crm_using_semantic_layer": False, "crm_run_self_tests": False,
    "crm_using_nps": False, "crm_using_marketing_spend": False, "crm_using_exchange_rates": False,
    "crm_using_customers": False, "crm_segments": [], "crm_incremental": False,
}
# The documented default of each switch (dbt_project.yml vars, README).
DEFAULT_ON = {"crm_using_predictions", "crm_using_nps", "crm_using_marketing_spend", "crm_using_customers"}


@pytest.fixture(scope="module")
def listings(tmp_path_factory):
    result = {}
    for name, vars, without in [("on", ON, ()), ("off", OFF, ()), ("defaults", {}, tuple(ON))]:
        host = Host(tmp_path_factory.mktemp(name), vars, without_vars=without)
        host.dbt(["deps"])
        result[name] = host.listed()
    return result


def resources(listing: dict[str, set[str]], wanted: dict[str, set[str]]) -> dict[str, set[str]]:
    return {kind: listing.get(kind, set()) & names for kind, names in wanted.items()}


@pytest.mark.parametrize("switch", sorted(SWITCHES))
def test_switch_from_the_hosts_dbt_project_yml(listings, switch):
    wanted = SWITCHES[switch]
    if switch == "crm_using_predictions" and ENGINE != "duckdb":
        # The prediction models are dbt Python models, which only dbt-duckdb runs here.
        assert all(resources(listing, wanted) == {"model": set()} for listing in listings.values())
        return
    assert resources(listings["on"], wanted) == wanted, f"{switch} on"
    assert resources(listings["off"], wanted) == {kind: set() for kind in wanted}, f"{switch} off"
    default = wanted if switch in DEFAULT_ON else {kind: set() for kind in wanted}
    assert resources(listings["defaults"], wanted) == default, f"{switch} by default"


def test_self_tests_switch_brings_every_unit_test(listings):
    names = unit_test_names()
    assert len(names) > 20
    if ENGINE != "duckdb":
        # It mocks the predictions, which only dbt-duckdb builds here.
        names.discard("customers_without_a_counted_order_have_zero_orders")
    assert listings["on"].get("unit_test", set()) == names
    assert listings["off"].get("unit_test", set()) == set()
    assert listings["defaults"].get("unit_test", set()) == set()
    # The data tests that hold by construction come with it.
    assert len(listings["on"]["test"]) > len(listings["off"]["test"])


def test_semantic_layer_switch_brings_every_metric(listings):
    assert len(listings["on"]["metric"]) > 40
    assert "metric" not in listings["off"] and "metric" not in listings["defaults"]
    # The NPS metrics need both switches (crm_using_nps is off in "off").
    assert {"nps", "nps_responses", "net_promoter_points"} <= listings["on"]["metric"]
