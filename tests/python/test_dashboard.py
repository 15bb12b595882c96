"""The dashboard (dashboard/app.py) rendered by Streamlit's AppTest on the demo `make demo` builds.

Every number the page shows is compared with the mart row it must come from, read directly from
the build's DuckDB file; the formats the page promises (percentages to 0.1, money to 0.01 with the
reporting currency) are restated here, not imported from the app. Every control is used: each
segment and value, the period range and the cohort measure. The predictions and hostile segment
values are checked on copies of the build changed by hand; partial periods on a second build
whose as-of date is mid-month.
"""

from __future__ import annotations

import base64
import json
import math
import shutil
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

from dbt_project_runner import ROOT, run_dbt
from demo_build import DEMO_VARS

APP = str(ROOT / "dashboard" / "app.py")
SEGMENT_MARTS = ["crm__kpis_by_segment", "crm__retention_by_segment", "crm__cohort_retention_by_segment"]
# The tiles with no segment-level definition: crm__kpis_by_segment has no column for them.
NOT_PER_SEGMENT = {"Gross revenue retention", "Net revenue retention", "NPS", "Formula CLV"}

# label, crm__kpis column, how the tile shows the value, how it shows the change.
TILES = [
    ("Retention rate", "retention_rate", "percent", "points"),
    ("Churn rate", "churn_rate", "percent", "points"),
    ("Survival rate", "survival_rate", "percent", "points"),
    ("Customers at end", "customers_at_end", "integer", "integer"),
    ("Repeat-customer rate", "repeat_customer_rate", "percent", "points"),
    ("Purchase frequency", "purchase_frequency", "two", "two"),
    ("Average order value", "aov", "money", "money"),
    ("Net revenue", "revenue", "money", "money"),
    ("Gross revenue retention", "gross_revenue_retention", "percent", "points"),
    ("Net revenue retention", "net_revenue_retention", "percent", "points"),
    ("NPS", "nps", "one", "one"),
    ("Formula CLV", "formula_clv", "money", "money"),
]


CURRENCY = "USD"  # the demo's crm_reporting_currency (Makefile DEMO_VARS)


def expected_text(value, style: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if style == "integer":
        return f"{int(value):,}"
    value = float(value)
    return {
        "percent": f"{value * 100:.1f}%",
        "two": f"{value:.2f}",
        "money": f"{CURRENCY} {value:,.2f}",
        "one": f"{value:.1f}",
    }[style]


def expected_change(latest, previous, style: str) -> str | None:
    if latest is None or previous is None:
        return None
    difference = latest - previous
    return {
        "points": f"{float(difference) * 100:+.1f} pp",
        "integer": f"{int(difference):+,}",
        "two": f"{float(difference):+.2f}",
        "money": f"{CURRENCY} {float(difference):+,.2f}",
        "one": f"{float(difference):+.1f}",
    }[style]


def mart(db_path, sql: str) -> list[dict]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def render(db_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("CRM_DUCKDB_PATH", str(db_path))
    monkeypatch.delenv("CRM_DASHBOARD_URL", raising=False)
    monkeypatch.delenv("CRM_MARTS_SCHEMA", raising=False)
    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def decoded(values):
    """A plotly array as the page received it (plotly sends numeric arrays base64-encoded)."""
    if isinstance(values, dict) and "bdata" in values:
        array = np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
        if "shape" in values:
            array = array.reshape([int(n) for n in str(values["shape"]).split(",")])
        return array.tolist()
    return values


def charts(app: AppTest) -> dict[str, dict]:
    return {chart.proto.id.split("-")[-1]: json.loads(chart.proto.spec) for chart in app.get("plotly_chart")}


def same_number(actual, expected) -> bool:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return actual is None or (isinstance(actual, float) and math.isnan(actual))
    return actual is not None and math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9)


def assert_frame_equals_rows(frame: pd.DataFrame, rows: list[dict], columns: list[str]) -> None:
    assert len(frame) == len(rows)
    for index, row in enumerate(rows):
        for column in columns:
            shown, expected = frame.iloc[index][column], row[column]
            if isinstance(expected, (int, float)) or hasattr(expected, "as_tuple"):
                assert same_number(None if pd.isna(shown) else shown, None if expected is None else float(expected)), (
                    column, index, shown, expected)
            elif expected is None:
                assert pd.isna(shown), (column, index, shown)
            else:
                assert shown == expected or pd.Timestamp(shown) == pd.Timestamp(expected), (column, index, shown, expected)


@pytest.fixture(scope="module")
def page(demo_build):
    with pytest.MonkeyPatch.context() as monkeypatch:
        return render(demo_build.db_path, monkeypatch)


def test_grain_and_as_of_date_are_on_screen(page, demo_build):
    settings = mart(demo_build.db_path, "select * from main.crm__report_settings")[0]
    caption = page.caption[0].value
    assert f"Grain: **{settings['period_grain']}**" in caption
    assert f"As of **{settings['as_of_date'].isoformat()}**" in caption
    assert settings["as_of_date"] == date(2026, 6, 30)  # the demo's latest order, as generated
    assert settings["reporting_currency"] == CURRENCY and f"Money in **{CURRENCY}**" in caption


def test_headline_tiles_show_the_latest_period_and_its_change(page, demo_build):
    kpis = mart(demo_build.db_path, "select * from main.crm__kpis order by period_start")
    latest, previous = kpis[-1], kpis[-2]
    assert latest["is_complete_period"]  # the demo's as-of date is the last day of June
    shown = {metric.label: metric for metric in page.metric}
    assert list(shown) == [label for label, *_ in TILES]
    for label, column, style, change_style in TILES:
        assert shown[label].value == expected_text(latest[column], style), label
        assert shown[label].delta == expected_change(latest[column], previous[column], change_style), label
    assert page.subheader[0].value == f"Headline: {latest['period_start']:%Y-%m} (last complete period, change on {previous['period_start']:%Y-%m})"


def test_retention_chart_draws_the_mart_rates(page, demo_build):
    rows = mart(demo_build.db_path, "select * from main.crm__retention order by period_start")
    traces = {trace["name"]: trace for trace in charts(page)["retention_chart"]["data"]}
    assert set(traces) == {"retention_rate", "churn_rate", "survival_rate"}
    for name, trace in traces.items():
        assert [pd.Timestamp(x).date() for x in trace["x"]] == [row["period_start"] for row in rows]
        ys = decoded(trace["y"])
        assert all(same_number(y, row[name]) for y, row in zip(ys, rows)), name


def test_order_gaps_chart_marks_the_churn_window(page, demo_build):
    rows = mart(demo_build.db_path, "select * from main.crm__order_gaps order by gap_days")
    window = mart(demo_build.db_path, "select churn_window_days from main.crm__report_settings")[0]["churn_window_days"]
    spec = charts(page)["order_gaps_chart"]
    [bars] = spec["data"]
    assert decoded(bars["x"]) == [row["gap_days"] for row in rows]
    assert decoded(bars["y"]) == [row["gaps"] for row in rows]
    [line] = spec["layout"]["shapes"]
    assert line["x0"] == line["x1"] == window - 0.5
    total = sum(row["gaps"] for row in rows)
    split = sum(row["gaps"] for row in rows if row["gap_days"] >= window) / total
    covering = next(row["gap_days"] for row in rows if sum(r["gaps"] for r in rows if r["gap_days"] <= row["gap_days"]) >= 0.9 * total)
    assert any(caption.value.startswith(f"{split * 100:.1f}% of repeat gaps are {window} days or longer")
               and f"90% of gaps are {covering} days or shorter; a window of {covering + 1} days" in caption.value
               for caption in page.caption)


def test_cohort_heatmap_is_the_cohort_mart(page, demo_build):
    rows = mart(demo_build.db_path, "select * from main.crm__cohort_retention")
    heatmap = charts(page)["cohort_heatmap"]["data"][0]
    assert heatmap["type"] == "heatmap"
    cohorts = sorted({row["cohort_period"] for row in rows})
    assert heatmap["y"] == [f"{c:%Y-%m}" for c in cohorts]
    ks = decoded(heatmap["x"])
    z = decoded(heatmap["z"])
    cells = {(row["cohort_period"], row["periods_since_acquisition"]): row["retention_rate"] for row in rows}
    for i, cohort in enumerate(cohorts):
        for j, k in enumerate(ks):
            assert same_number(z[i][j], cells.get((cohort, k))), (cohort, k)
    # Every cell of the mart is drawn, and only those: the rest of the triangle is empty.
    assert sum(1 for line in z for value in line if value is not None and not math.isnan(value)) == len(rows)


def test_revenue_movements_are_the_mart_movements(page, demo_build):
    rows = mart(demo_build.db_path, "select * from main.crm__revenue_retention order by period_start")
    bars = {bar["name"]: bar for bar in charts(page)["revenue_movements_chart"]["data"]}
    assert set(bars) == {"new", "reactivated", "expansion", "contraction", "churned"}
    for name, bar in bars.items():
        values = decoded(bar["customdata"])
        heights = decoded(bar["y"])
        sign = -1 if name in ("contraction", "churned") else 1
        for value, height, row in zip(values, heights, rows, strict=True):
            assert same_number(value, row[f"{name}_revenue"]) and same_number(height, sign * float(row[f"{name}_revenue"]))
    frame = next(t.value for t in page.dataframe if "expansion_revenue" in t.value.columns)
    assert_frame_equals_rows(frame, rows, ["period_start", "starting_revenue", "ending_revenue", "net_revenue_retention",
                                           "gross_revenue_retention", "revenue_churn_rate"])


def test_repeat_rate_and_aov_charts_are_the_marts(page, demo_build):
    drawn = charts(page)
    repeat = mart(demo_build.db_path, "select * from main.crm__repeat_rate order by period_start")
    aov = mart(demo_build.db_path, "select * from main.crm__aov order by period_start")
    for chart, rows, names in [("repeat_rate_chart", repeat, ["repeat_customer_rate", "returning_customer_rate"]),
                               ("aov_chart", aov, ["aov", "new_customer_aov", "returning_customer_aov"])]:
        traces = {trace["name"]: trace for trace in drawn[chart]["data"]}
        assert set(traces) == set(names)
        for name in names:
            assert all(same_number(y, row[name]) for y, row in zip(decoded(traces[name]["y"]), rows, strict=True)), name


def test_rfm_segments_table_is_the_mart(page, demo_build):
    rows = mart(demo_build.db_path, "select * from main.crm__rfm_segments order by customers desc")
    frame = next(t.value for t in page.dataframe if "rfm_segment" in t.value.columns and "share_of_customers" in t.value.columns)
    assert_frame_equals_rows(frame, rows, ["rfm_segment", "customers", "share_of_customers", "net_revenue", "share_of_revenue"])


def test_at_risk_list_and_its_csv_download(page, demo_build):
    rows = mart(demo_build.db_path, "select * from main.crm__at_risk_customers order by value_at_stake_rank")
    assert len(rows) > 50
    frame = next(t.value for t in page.dataframe if "value_at_stake_rank" in t.value.columns)
    assert_frame_equals_rows(frame, rows[:50], ["value_at_stake_rank", "customer_id", "value_at_stake", "days_until_churn"])
    # The download is the whole list: its file id is the hash of the CSV of every mart row.
    with duckdb.connect(str(demo_build.db_path), read_only=True) as con:
        full = con.execute("select * from main.crm__at_risk_customers order by value_at_stake_rank").df()
    expected_file = _calculate_file_id(full.to_csv(index=False).encode("utf-8"), "text/csv", "crm_at_risk_customers.csv")
    button = page.get("download_button")[0]
    assert button.proto.url.endswith(f"{expected_file}.csv")


def test_no_segment_filter_without_segment_marts(demo_build, tmp_path, monkeypatch):
    db_path = copy_build(demo_build, tmp_path, [f"drop table main.{table}" for table in SEGMENT_MARTS])
    app = render(db_path, monkeypatch)
    assert not app.sidebar.selectbox


def columns_of(db_path, table: str) -> set[str]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return {row[0] for row in con.execute(f"describe main.{table}").fetchall()}


def copy_build(demo_build, tmp_path, statements: list[str]):
    db_path = tmp_path / "crm.duckdb"
    shutil.copy(demo_build.db_path, db_path)
    with duckdb.connect(str(db_path)) as con:
        for statement in statements:
            con.execute(statement)
    return db_path


def test_segment_filter_shows_the_segment_rows(demo_build, tmp_path, monkeypatch):
    # Two values of one segment, each with numbers of its own (halved and doubled counts and
    # rates), so a page showing all customers, or the other value, cannot pass.
    def segmented(table: str, scale_columns: list[str]) -> str:
        scaled = ", ".join(f"{c} * {{f}} as {c}" for c in scale_columns)
        replace = f"* replace ({scaled})"
        return (f"create or replace table main.{table}_by_segment as "
                f"select 'country' as segment_name, 'DE' as segment_value, {replace.format(f=0.5)} from main.{table} "
                f"union all select 'country', 'US', {replace.format(f=2)} from main.{table}")
    db_path = copy_build(demo_build, tmp_path, [
        segmented("crm__kpis", ["retention_rate", "churn_rate", "aov", "customers_at_end"]),
        segmented("crm__retention", ["retention_rate", "churn_rate", "survival_rate"]),
        segmented("crm__cohort_retention", ["retention_rate"]),
    ])
    app = render(db_path, monkeypatch)
    app.sidebar.selectbox(key="segment_name").select("country").run()
    app.sidebar.selectbox(key="segment_value").select("DE").run()
    assert not app.exception
    kpis = mart(db_path, "select * from main.crm__kpis_by_segment where segment_value = 'DE' order by period_start")
    shown = {metric.label: metric for metric in app.metric}
    assert shown["Retention rate"].value == expected_text(kpis[-1]["retention_rate"], "percent")
    assert shown["Customers at end"].value == expected_text(kpis[-1]["customers_at_end"], "integer")
    assert shown["Average order value"].value == expected_text(kpis[-1]["aov"], "money")
    retention = mart(db_path, "select * from main.crm__retention_by_segment where segment_value = 'DE' order by period_start")
    trace = next(t for t in charts(app)["retention_chart"]["data"] if t["name"] == "churn_rate")
    assert all(same_number(y, row["churn_rate"]) for y, row in zip(decoded(trace["y"]), retention, strict=True))
    cells = mart(db_path, "select * from main.crm__cohort_retention_by_segment where segment_value = 'DE'")
    z = decoded(charts(app)["cohort_heatmap"]["data"][0]["z"])
    assert max(v for line in z for v in line if v is not None and not math.isnan(v)) == pytest.approx(
        max(row["retention_rate"] for row in cells))
    assert "Segment: country = DE" in [info.value for info in app.info]


def test_predictions_appear_when_the_build_has_them(demo_build, tmp_path, monkeypatch):
    # Predictions of made-up values, so the table shown must follow them, not the model's.
    missing = {"p_alive", "predicted_clv"} - columns_of(demo_build.db_path, "crm__clv")
    db_path = copy_build(demo_build, tmp_path, [
        *[f"alter table main.crm__clv add column {column} double" for column in sorted(missing)],
        "update main.crm__clv set p_alive = 0.5, predicted_clv = (hash(customer_id) % 1000) / 10",
        "create or replace table main.crm__clv_model as select 0.24 as bgnbd_r, 4.4 as bgnbd_alpha",
    ])
    app = render(db_path, monkeypatch)
    assert "Predictions" in [header.value for header in app.header]
    top = mart(db_path, "select customer_id, predicted_clv from main.crm__clv order by predicted_clv desc, customer_id limit 20")
    frame = next(t.value for t in app.dataframe if "predicted_clv" in t.value.columns)
    assert_frame_equals_rows(frame, top, ["customer_id", "predicted_clv"])
    model = next(t.value for t in app.dataframe if "bgnbd_r" in t.value.columns)
    assert_frame_equals_rows(model, [{"bgnbd_r": 0.24, "bgnbd_alpha": 4.4}], ["bgnbd_r", "bgnbd_alpha"])


def test_no_predictions_section_without_predictions(demo_build, tmp_path, monkeypatch):
    # A build whose predictions did not run has the columns, all null; an older one has none.
    statements = ["drop table if exists main.crm__clv_model"]
    for table in ("crm__clv", "crm__customers"):
        statements += [f"update main.{table} set {column} = null"
                       for column in sorted({"p_alive", "predicted_clv"} & columns_of(demo_build.db_path, table))]
    app = render(copy_build(demo_build, tmp_path, statements), monkeypatch)
    assert "Predictions" not in [header.value for header in app.header]


# Made-up backtest rows, so the charts must follow the marts, not the model.
BACKTEST = [
    ("all", 0, 120, 150, 141.5, 1.25, 1.1792, 0.8123),
    ("0", 1, 60, 20, 18.5, 0.3333, 0.3083, 0.4),
    ("1", 2, 40, 50, 43.0, 1.25, 1.075, 0.9),
    ("7+", 8, 20, 80, 80.0, 4.0, 4.0, 2.5),
]
TRACKING = [("2026-01-01", "2026-01-31", 70, 75.5), ("2026-02-01", "2026-02-28", 80, 66.0)]


def backtest_statements(is_converged: bool, fit_note: str) -> list[str]:
    groups = ", ".join(
        f"('{g}', {order}, date '2026-01-01', date '2026-02-28', 58, {customers}, {actual}, {expected}, {mean_actual}, "
        f"{mean_expected}, {error}, {str(is_converged).lower()}, '{fit_note}')"
        for g, order, customers, actual, expected, mean_actual, mean_expected, error in BACKTEST)
    cumulative = [(start, end, actual, expected, sum(t[2] for t in TRACKING[:i + 1]), sum(t[3] for t in TRACKING[:i + 1]))
                  for i, (start, end, actual, expected) in enumerate(TRACKING)]
    periods = ", ".join(f"(date '{a}', date '{b}', {c}, {d}, {e}, {f})" for a, b, c, d, e, f in cumulative)
    return [
        f"create or replace table main.crm__clv_backtest as select * from (values {groups}) as t(frequency_group, "
        "group_order, calibration_end_date, holdout_end_date, holdout_days, customers, actual_purchases, "
        "expected_purchases, mean_actual_purchases, mean_expected_purchases, mean_absolute_error, is_converged, fit_note)",
        f"create or replace table main.crm__clv_backtest_tracking as select * from (values {periods}) as t(period_start, "
        "closing_date, actual_purchases, expected_purchases, cumulative_actual_purchases, cumulative_expected_purchases)",
    ]


def test_backtest_shows_tracking_and_frequency_groups(demo_build, tmp_path, monkeypatch):
    app = render(copy_build(demo_build, tmp_path, backtest_statements(True, "converged")), monkeypatch)
    assert "Backtest" in [header.value for header in app.subheader]
    shown = charts(app)
    traces = {t["name"]: t for t in shown["backtest_tracking_chart"]["data"]}
    assert decoded(traces["cumulative_actual_purchases"]["y"]) == [70, 150]
    assert decoded(traces["cumulative_expected_purchases"]["y"]) == pytest.approx([75.5, 141.5])
    bars = {t["name"]: t for t in shown["backtest_groups_chart"]["data"]}
    assert list(bars["mean_actual_purchases"]["x"]) == ["0", "1", "7+"]
    assert decoded(bars["mean_actual_purchases"]["y"]) == pytest.approx([0.3333, 1.25, 4.0])
    assert decoded(bars["mean_expected_purchases"]["y"]) == pytest.approx([0.3083, 1.075, 4.0])
    captions = " ".join(caption.value for caption in app.caption)
    assert "refitted on the data up to 2026-01-01" in captions and "58 days after" in captions
    assert "150 purchase days made, 141.5 expected; mean absolute error 0.81" in captions


def test_a_model_that_did_not_converge_is_said_with_its_reason(demo_build, tmp_path, monkeypatch):
    """Instead of an empty section: the warning names the build's own reason, for the model and
    for the backtest, whose charts are left out."""
    note = "BG/NBD: a and b not identified"
    statements = backtest_statements(False, note) + [
        "create or replace table main.crm__clv_model as select false as is_converged, "
        f"'{note}' as fit_note, cast(null as double) as bgnbd_r",
        "update main.crm__clv set p_alive = null, predicted_clv = null",
    ]
    app = render(copy_build(demo_build, tmp_path, statements), monkeypatch)
    assert "Predictions" in [header.value for header in app.header]
    warnings = [warning.value for warning in app.warning]
    assert any("did not converge" in w and "a and b not identified" in w for w in warnings), warnings
    assert any("backtest's model, fitted up to 2026-01-01, did not converge" in w for w in warnings), warnings
    assert not {"backtest_tracking_chart", "backtest_groups_chart"} & set(charts(app))


def test_predictions_off_are_said(demo_build, tmp_path, monkeypatch):
    statements = [
        "create or replace table main.crm__clv_model as select cast(null as boolean) as is_converged, "
        "'predictions are off: the postgres adapter does not run the package''s Python models' as fit_note",
        "drop table main.crm__clv_backtest",
    ]
    app = render(copy_build(demo_build, tmp_path, statements), monkeypatch)
    assert any("No model was fitted in this build: predictions are off" in info.value for info in app.info)


def test_a_missing_duckdb_file_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DUCKDB_PATH", str(tmp_path / "absent.duckdb"))
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert app.exception and "make demo" in app.exception[0].message


def test_any_warehouse_through_a_sqlalchemy_url(page, demo_build, monkeypatch):
    # The URL path, here through DuckDB's SQLAlchemy driver, shows what the DuckDB path shows.
    monkeypatch.delenv("CRM_DUCKDB_PATH", raising=False)
    monkeypatch.setenv("CRM_DASHBOARD_URL", f"duckdb:///{demo_build.db_path}?access_mode=read_only")
    monkeypatch.setenv("CRM_MARTS_SCHEMA", "main")
    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception, [e.value for e in app.exception]
    assert [(m.label, m.value, m.delta) for m in app.metric] == [(m.label, m.value, m.delta) for m in page.metric]
    assert charts(app)["cohort_heatmap"]["data"][0]["z"] == charts(page)["cohort_heatmap"]["data"][0]["z"]
    # The source is written as plain text (Markdown characters escaped).
    assert "Source: duckdb:///" in app.caption[0].value.replace("\\", "")


# ------------------------------------------------------------------ every control, once each


def test_every_sidebar_choice_renders(demo_build, monkeypatch):
    """Each segment and each of its values, then the period range and the cohort measure: no
    exception anywhere, and the tiles a segment has no definition for say so."""
    app = render(demo_build.db_path, monkeypatch)
    segments = mart(demo_build.db_path, "select distinct segment_name, segment_value from main.crm__kpis_by_segment")
    complete_segment_kpis = mart(demo_build.db_path, "select * from main.crm__kpis_by_segment "
                                                     "where is_complete_period order by period_start")
    names = app.sidebar.selectbox(key="segment_name").options
    assert names == ["All customers", *sorted({row["segment_name"] for row in segments})]
    walked = 0
    for name in names[1:]:
        app.sidebar.selectbox(key="segment_name").select(name).run()
        values = app.sidebar.selectbox(key="segment_value").options
        assert sorted(values) == sorted(row["segment_value"] for row in segments if row["segment_name"] == name)
        for value in values:
            app.sidebar.selectbox(key="segment_value").select(value).run()
            assert not app.exception, (name, value, [e.value for e in app.exception])
            shown = {metric.label: metric.value for metric in app.metric}
            assert {label for label, v in shown.items() if v == "n/a per segment"} == NOT_PER_SEGMENT, (name, value)
            kpis = [row for row in complete_segment_kpis if (row["segment_name"], row["segment_value"]) == (name, value)]
            assert shown["Customers at end"] == expected_text(kpis[-1]["customers_at_end"], "integer"), (name, value)
            size = kpis[-1]["customers_at_start"]
            assert any(f"Segment size: {size:,} customers" in c.value for c in app.caption), (name, value)
            assert bool(app.warning) == (size < 30), (name, value)
            walked += 1
    assert walked == len(segments)
    app.sidebar.selectbox(key="segment_name").select("All customers").run()
    app.radio(key="cohort_measure").set_value("Revenue per customer").run()
    assert not app.exception
    cells = mart(demo_build.db_path, "select max(cumulative_revenue_per_customer) as top from main.crm__cohort_retention")
    z = decoded(charts(app)["cohort_heatmap"]["data"][0]["z"])
    assert max(v for line in z for v in line if v is not None and not math.isnan(v)) == pytest.approx(float(cells[0]["top"]))
    slider = app.sidebar.select_slider(key="period_range")
    slider.set_range(slider.options[3], slider.options[10]).run()
    assert not app.exception
    kpis = mart(demo_build.db_path, "select * from main.crm__kpis order by period_start")
    assert app.subheader[0].value.startswith(f"Headline: {kpis[10]['period_start']:%Y-%m} ")
    trace = next(t for t in charts(app)["retention_chart"]["data"] if t["name"] == "churn_rate")
    assert [pd.Timestamp(x).date() for x in trace["x"]] == [row["period_start"] for row in kpis[3:11]]


def test_cohort_sizes_and_cell_values_are_shown(page, demo_build):
    rows = mart(demo_build.db_path, "select * from main.crm__cohort_retention order by cohort_period")
    sizes = next(t.value for t in page.dataframe if list(t.value.columns) == ["cohort_period", "cohort_size"])
    expected = {}
    for row in rows:
        expected[f"{row['cohort_period']:%Y-%m}"] = row["cohort_size"]
    assert dict(zip(sizes["cohort_period"], sizes["cohort_size"])) == expected
    heatmap = charts(page)["cohort_heatmap"]["data"][0]
    first = next(row for row in rows if row["periods_since_acquisition"] == 1)
    i = heatmap["y"].index(f"{first['cohort_period']:%Y-%m}")
    j = decoded(heatmap["x"]).index(1)
    assert heatmap["text"][i][j] == f"{float(first['retention_rate']):.0%}"


def test_retention_above_100_percent_is_explained(page):
    assert any("can exceed 100%" in caption.value for caption in page.caption)


def test_at_risk_table_shows_its_ranking_first(page):
    frame = next(t.value for t in page.dataframe if "value_at_stake_rank" in t.value.columns)
    assert list(frame.columns[:3]) == ["value_at_stake_rank", "customer_id", "value_at_stake"]


def test_data_quality_counts_every_raw_row(page, demo_build):
    """Raw rows per source from the demo's CSVs themselves; staged and rejected from the marts."""
    import csv

    frame = next(t.value for t in page.dataframe if "staged_rows" in t.value.columns)
    shown = {row["source_table"]: row for row in frame.to_dict("records")}
    for source in ["orders", "customers", "nps_responses", "marketing_spend", "exchange_rates"]:
        with open(ROOT / "seeds" / "demo" / f"raw_{source}.csv", newline="", encoding="utf-8") as handle:
            raw = sum(1 for _ in csv.DictReader(handle))
        rejected = mart(demo_build.db_path, f"select count(*) as n from main.crm__rejected_rows where source_table = '{source}'")
        assert (shown[source]["raw_rows"], shown[source]["rejected_rows"]) == (raw, rejected[0]["n"]), source
        assert shown[source]["staged_rows"] == raw - rejected[0]["n"]
    assert any("above 2.0%" in c.value and "above 20.0%" in c.value for c in page.caption)


def test_segment_values_are_shown_as_plain_text(demo_build, tmp_path, monkeypatch):
    hostile = "[click](http://example.com) ![x](http://example.com/x.png) **bold**"
    db_path = copy_build(demo_build, tmp_path, [
        f"update main.{table} set segment_value = '{hostile}' where segment_value = 'DE'" for table in SEGMENT_MARTS])
    app = render(db_path, monkeypatch)
    app.sidebar.selectbox(key="segment_name").select("country").run()
    app.sidebar.selectbox(key="segment_value").select(hostile).run()
    assert not app.exception
    [info] = [info.value for info in app.info]
    # Every Markdown character is escaped: the text reads as typed, no link or image is made.
    assert "](" not in info.replace("\\]\\(", "")
    assert info.replace("\\", "") == f"Segment: country = {hostile}"


@pytest.fixture(scope="module")
def mid_month_build(tmp_path_factory):
    """The demo with its as-of date in the middle of June 2026: June is a partial period."""
    directory = tmp_path_factory.mktemp("mid_month")
    db_path, target_path = directory / "crm.duckdb", directory / "target"
    vars_json = json.dumps({**DEMO_VARS, "crm_as_of_date": "2026-06-15"})
    run_dbt(["seed", "--vars", vars_json], db_path=db_path, target_path=target_path)
    run_dbt(["run", "--vars", vars_json], db_path=db_path, target_path=target_path)
    return db_path


def test_a_partial_period_is_left_out_of_the_headline_and_marked(mid_month_build, monkeypatch):
    kpis = mart(mid_month_build, "select * from main.crm__kpis order by period_start")
    assert not kpis[-1]["is_complete_period"] and kpis[-2]["is_complete_period"]
    app = render(mid_month_build, monkeypatch)
    complete, before = kpis[-2], kpis[-3]
    assert app.subheader[0].value == "Headline: 2026-05 (last complete period, change on 2026-04)"
    shown = {metric.label: metric for metric in app.metric}
    for label, column, style, change_style in TILES:
        assert shown[label].value == expected_text(complete[column], style), label
        assert shown[label].delta == expected_change(complete[column], before[column], change_style), label
    assert any(c.value.startswith("2026-06 is partial") for c in app.caption)
    for chart in ["retention_chart", "revenue_movements_chart", "repeat_rate_chart", "aov_chart"]:
        shapes = charts(app)[chart]["layout"].get("shapes", [])
        assert [(s["x0"][:10], s["x1"][:10]) for s in shapes] == [("2026-06-01", "2026-06-30")], chart
    table = next(t.value for t in app.dataframe if "expansion_revenue" in t.value.columns)
    assert list(table["period"])[-1] == "2026-06 (partial)" and not any("(partial)" in p for p in list(table["period"])[:-1])


# --------------------------------------------------------------------------------------
# Survival, time to second order and first-product cohorts
# --------------------------------------------------------------------------------------

def curve_rows(db_path, table: str, days: str, where: str) -> list[dict]:
    return mart(db_path, f"select * from main.{table} where {where} order by {days}")


def assert_curve_is_drawn(chart: dict, name: str, rows: list[dict], days: str) -> None:
    trace = next(t for t in chart["data"] if t["name"] == name)
    assert decoded(trace["x"]) == [0, *(row[days] for row in rows)], name
    y = decoded(trace["y"])
    assert y[0] == 1.0 and len(y) == len(rows) + 1, name
    assert all(same_number(a, row["survival_rate"]) for a, row in zip(y[1:], rows)), name
    band = next(t for t in chart["data"] if t["name"] == f"{name} 95%")
    upper_then_lower = decoded(band["y"])[1:-1]
    expected = [row["survival_upper"] for row in rows] + [row["survival_lower"] for row in reversed(rows)]
    assert all(same_number(a, e) for a, e in zip(upper_then_lower, expected)) and len(upper_then_lower) == len(expected)


def test_survival_curves_are_the_marts(page, demo_build):
    shown = page.multiselect(key="survival_cohorts")
    cohorts = [f"cohort {row['cohort_period']:%Y-%m}" for row in mart(
        demo_build.db_path, "select distinct cohort_period from main.crm__survival where curve = 'cohort' order by 1")]
    assert shown.options == ["All customers", *cohorts] and shown.value == ["All customers", *cohorts[-2:]]
    for table, days, chart in [("crm__survival", "days_since_acquisition", "survival_chart"),
                               ("crm__time_to_second_order", "days_since_first_order", "second_order_chart")]:
        assert_curve_is_drawn(charts(page)[chart], "All customers",
                              curve_rows(demo_build.db_path, table, days, "curve = 'overall'"), days)


def test_choosing_survival_cohorts(demo_build, monkeypatch):
    app = render(demo_build.db_path, monkeypatch)
    first = mart(demo_build.db_path, "select min(cohort_period) as c from main.crm__survival")[0]["c"]
    label = f"cohort {first:%Y-%m}"
    app.multiselect(key="survival_cohorts").set_value([label]).run()
    assert not app.exception
    where = f"curve = 'cohort' and cohort_period = '{first}'"
    assert [t["name"] for t in charts(app)["survival_chart"]["data"]] == [label, f"{label} 95%"]
    assert_curve_is_drawn(charts(app)["survival_chart"], label,
                          curve_rows(demo_build.db_path, "crm__survival", "days_since_acquisition", where),
                          "days_since_acquisition")
    assert_curve_is_drawn(charts(app)["second_order_chart"], label,
                          curve_rows(demo_build.db_path, "crm__time_to_second_order", "days_since_first_order", where),
                          "days_since_first_order")
    table = next(t.value for t in app.dataframe if "reorder_rate_30d" in t.value.columns)
    rates = mart(demo_build.db_path, f"select * from main.crm__second_order_rates where {where}")
    assert list(table["curve"]) == [label]
    assert_frame_equals_rows(table, rates, ["customers", "reordered_customers", "median_days_to_second_order",
                                            "reorder_rate_30d", "reorder_rate_60d", "reorder_rate_90d"])
    # A segment chosen in the sidebar offers its own curve.
    app.sidebar.selectbox(key="segment_name").select("country").run()
    app.sidebar.selectbox(key="segment_value").select("DE").run()
    app.multiselect(key="survival_cohorts").set_value(["country = DE"]).run()
    assert not app.exception
    assert_curve_is_drawn(charts(app)["survival_chart"], "country = DE", curve_rows(
        demo_build.db_path, "crm__survival", "days_since_acquisition",
        "curve = 'segment' and segment_name = 'country' and segment_value = 'DE'"), "days_since_acquisition")


def test_unbounded_retention_heatmap(demo_build, monkeypatch):
    app = render(demo_build.db_path, monkeypatch)
    app.radio(key="cohort_measure").set_value("Unbounded retention").run()
    assert not app.exception
    rows = mart(demo_build.db_path, "select * from main.crm__cohort_retention")
    heatmap = charts(app)["cohort_heatmap"]["data"][0]
    cohorts = sorted({row["cohort_period"] for row in rows})
    ks, z = decoded(heatmap["x"]), decoded(heatmap["z"])
    cells = {(row["cohort_period"], row["periods_since_acquisition"]): row["unbounded_retention_rate"] for row in rows}
    for i, cohort in enumerate(cohorts):
        for j, k in enumerate(ks):
            assert same_number(z[i][j], cells.get((cohort, k))), (cohort, k)


def test_first_product_cohort_table(page, demo_build, tmp_path, monkeypatch):
    # The demo is at order grain: the mart is made by hand from the segment cohorts, countries as
    # categories and channels as products.
    assert "Cohorts by first product" not in [s.value for s in page.subheader]
    db_path = copy_build(demo_build, tmp_path, [
        "create table main.crm__cohort_retention_by_first_product as select * replace (case segment_name "
        "when 'country' then 'product_category' else 'product_id' end as segment_name) "
        "from main.crm__cohort_retention_by_segment",
    ])
    app = render(db_path, monkeypatch)
    assert "Cohorts by first product" in [s.value for s in app.subheader]
    for breakdown, segment in [("product_category", "country"), ("product_id", "acquisition_channel")]:
        app.radio(key="first_product_breakdown").set_value(breakdown).run()
        assert not app.exception
        table = next(t.value for t in app.dataframe if "first product" in t.value.columns)
        rows = mart(db_path, "select segment_value, periods_since_acquisition, sum(cohort_size) as size, "
                             "sum(active_customers) as active from main.crm__cohort_retention_by_segment "
                             f"where segment_name = '{segment}' group by 1, 2")
        assert sorted(table["first product"]) == sorted({row["segment_value"] for row in rows})
        for row in rows:
            shown = table.loc[table["first product"] == row["segment_value"], f"+{row['periods_since_acquisition']}"]
            assert same_number(shown.iloc[0], row["active"] / row["size"]), row
            if row["periods_since_acquisition"] == 0:
                assert table.loc[table["first product"] == row["segment_value"], "customers"].iloc[0] == row["size"]
