"""The crm_retention dashboard: a Streamlit page over the package's marts.

Every number on the page is a value of a mart. The app selects rows, filters them by segment,
sorts and formats them; the one piece of arithmetic is the change shown on each headline tile,
the difference of the two latest periods' values of the same mart column.

Where the marts live (first match wins):
- CRM_DASHBOARD_URL: a SQLAlchemy URL of any warehouse the marts were built in (install
  SQLAlchemy and the warehouse's driver), with CRM_MARTS_SCHEMA naming their schema;
- CRM_DUCKDB_PATH: a DuckDB file, opened read-only (default crm_retention.duckdb, the demo's),
  schema CRM_MARTS_SCHEMA or main.

Run it with `make dashboard` (or `streamlit run dashboard/app.py`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

DEFAULT_DUCKDB_PATH = "crm_retention.duckdb"
SEGMENT_MARTS = {
    "kpis": "crm__kpis_by_segment",
    "retention": "crm__retention_by_segment",
    "cohorts": "crm__cohort_retention_by_segment",
}
ALL_CUSTOMERS = "All customers"
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# ---------------------------------------------------------------------------------------------
# Reading the marts


@dataclass(frozen=True)
class Source:
    """Where the marts are: a DuckDB file or a SQLAlchemy URL, and their schema."""

    duckdb_path: str | None
    url: str | None
    schema: str

    @classmethod
    def from_environment(cls) -> "Source":
        url = os.environ.get("CRM_DASHBOARD_URL") or None
        duckdb_path = None if url else os.environ.get("CRM_DUCKDB_PATH") or DEFAULT_DUCKDB_PATH
        schema = os.environ.get("CRM_MARTS_SCHEMA") or ("main" if duckdb_path else "")
        if schema and not IDENTIFIER.fullmatch(schema):
            raise ValueError(f"CRM_MARTS_SCHEMA must be a plain identifier, not {schema!r}.")
        return cls(duckdb_path=duckdb_path, url=url, schema=schema)

    @property
    def label(self) -> str:
        if self.duckdb_path:
            return f"DuckDB file {self.duckdb_path}"
        return re.sub(r"//[^@/]*@", "//***@", self.url or "")

    def relation(self, table: str) -> str:
        return f"{self.schema}.{table}" if self.schema else table


@st.cache_data(ttl=300, show_spinner=False)
def query(source: Source, sql: str) -> pd.DataFrame:
    """The rows of one query. DuckDB is opened read-only for each read, so the dashboard never
    holds a lock that would stop the next `dbt build`."""
    if source.duckdb_path:
        import duckdb

        if not os.path.exists(source.duckdb_path):
            raise FileNotFoundError(
                f"No DuckDB file at {source.duckdb_path}: run `make demo`, or set CRM_DUCKDB_PATH "
                "(or CRM_DASHBOARD_URL) to where the marts are."
            )
        with duckdb.connect(source.duckdb_path, read_only=True) as connection:
            return connection.execute(sql).df()
    import sqlalchemy

    with warehouse(source.url).connect() as connection:
        return pd.read_sql(sqlalchemy.text(sql), connection)


@st.cache_resource(show_spinner=False)
def warehouse(url: str):
    """A SQLAlchemy engine for CRM_DASHBOARD_URL; the URL's driver must be installed. No pool:
    like the DuckDB file, the warehouse is connected to for each read and let go after it."""
    import sqlalchemy

    return sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)


@st.cache_data(ttl=300, show_spinner=False)
def tables(source: Source) -> set[str]:
    """The names of the tables and views in the marts' schema."""
    if source.duckdb_path:
        rows = query(source, f"select table_name from information_schema.tables where table_schema = '{source.schema}'")
        return {name.lower() for name in rows["table_name"]}
    import sqlalchemy

    inspector = sqlalchemy.inspect(warehouse(source.url))
    schema = source.schema or None
    return {name.lower() for name in inspector.get_table_names(schema) + inspector.get_view_names(schema)}


def read(source: Source, table: str, order_by: str | None = None) -> pd.DataFrame:
    order = f" order by {order_by}" if order_by else ""
    return query(source, f"select * from {source.relation(table)}{order}")


# ---------------------------------------------------------------------------------------------
# Formatting


def is_missing(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


FORMATS = {
    "rate": lambda v: f"{float(v):.1%}",
    "count": lambda v: f"{int(v):,}",
    "money": lambda v: f"{float(v):,.2f}",
    "score": lambda v: f"{float(v):.1f}",
    "ratio": lambda v: f"{float(v):.2f}",
}
DELTA_FORMATS = {
    "rate": lambda d: f"{float(d) * 100:+.1f} pp",
    "count": lambda d: f"{int(d):+,}",
    "money": lambda d: f"{float(d):+,.2f}",
    "score": lambda d: f"{float(d):+.1f}",
    "ratio": lambda d: f"{float(d):+.2f}",
}


def shown(value, kind: str) -> str:
    return "–" if is_missing(value) else FORMATS[kind](value)


def change(latest, previous, kind: str) -> str | None:
    if is_missing(latest) or is_missing(previous):
        return None
    return DELTA_FORMATS[kind](latest - previous)


# The headline tiles: label, crm__kpis column, format, and whether a rise is bad news.
TILES = [
    ("Retention rate", "retention_rate", "rate", False),
    ("Churn rate", "churn_rate", "rate", True),
    ("Survival rate", "survival_rate", "rate", False),
    ("Customers at end", "customers_at_end", "count", False),
    ("Repeat-customer rate", "repeat_customer_rate", "rate", False),
    ("Purchase frequency", "purchase_frequency", "ratio", False),
    ("Average order value", "aov", "money", False),
    ("Net revenue", "revenue", "money", False),
    ("Gross revenue retention", "gross_revenue_retention", "rate", False),
    ("Net revenue retention", "net_revenue_retention", "rate", False),
    ("NPS", "nps", "score", False),
    ("Formula CLV", "formula_clv", "money", False),
]


def period_label(period_start, grain: str) -> str:
    day = pd.Timestamp(period_start)
    return {
        "day": day.strftime("%Y-%m-%d"),
        "week": f"week of {day.strftime('%Y-%m-%d')}",
        "month": day.strftime("%Y-%m"),
        "quarter": f"{day.year}-Q{(day.month - 1) // 3 + 1}",
        "year": str(day.year),
    }.get(grain, day.strftime("%Y-%m-%d"))


# ---------------------------------------------------------------------------------------------
# The page


def segment_filter(source: Source, present: set[str]) -> tuple[str, str] | None:
    """The sidebar's segment filter, shown only when the build has segment marts."""
    if SEGMENT_MARTS["kpis"] not in present:
        return None
    choices = query(
        source,
        f"select distinct segment_name, segment_value from {source.relation(SEGMENT_MARTS['kpis'])} "
        "order by segment_name, segment_value",
    )
    st.sidebar.header("Segment")
    name = st.sidebar.selectbox("Break down by", [ALL_CUSTOMERS, *choices["segment_name"].unique()], key="segment_name")
    if name == ALL_CUSTOMERS:
        return None
    value = st.sidebar.selectbox("Value", list(choices.loc[choices["segment_name"] == name, "segment_value"]), key="segment_value")
    return name, value


def segment_rows(source: Source, present: set[str], view: str, unsegmented: str, segment, order_by: str) -> tuple[pd.DataFrame, bool]:
    """A view's rows for the chosen segment when its segment mart exists, else for all customers."""
    table = SEGMENT_MARTS[view]
    if segment is None or table not in present:
        return read(source, unsegmented, order_by), False
    rows = read(source, table, order_by)
    selected = rows[(rows["segment_name"] == segment[0]) & (rows["segment_value"] == segment[1])]
    return selected.reset_index(drop=True), True


def segment_note(segment, segmented: bool) -> None:
    if segment is not None and not segmented:
        st.caption("Not broken down by segment in this build: all customers.")


def headline(kpis: pd.DataFrame, grain: str) -> None:
    latest = kpis.iloc[-1]
    previous = kpis.iloc[-2] if len(kpis) > 1 else None
    state = "complete" if bool(latest["is_complete_period"]) else "partial, to the as-of date"
    versus = f", change on {period_label(previous['period_start'], grain)}" if previous is not None else ""
    st.subheader(f"Headline: {period_label(latest['period_start'], grain)} ({state}{versus})")
    for row_start in range(0, len(TILES), 4):
        columns = st.columns(4)
        for column, (label, name, kind, rise_is_bad) in zip(columns, TILES[row_start:row_start + 4]):
            delta = change(latest[name], previous[name], kind) if previous is not None else None
            column.metric(label, shown(latest[name], kind), delta, delta_color="inverse" if rise_is_bad else "normal")


def retention_over_time(retention: pd.DataFrame) -> None:
    long = retention.melt(
        id_vars="period_start", value_vars=["retention_rate", "churn_rate", "survival_rate"],
        var_name="rate", value_name="value",
    )
    figure = px.line(long, x="period_start", y="value", color="rate", markers=True,
                     labels={"period_start": "period", "value": "rate"})
    figure.update_layout(yaxis_tickformat=".0%", height=360, margin=dict(t=10, b=10))
    st.plotly_chart(figure, width="stretch", key="retention_chart")


def cohort_heatmap(cohorts: pd.DataFrame, grain: str) -> None:
    grid = cohorts.pivot(index="cohort_period", columns="periods_since_acquisition", values="retention_rate").sort_index()
    figure = go.Figure(go.Heatmap(
        z=grid.to_numpy(dtype=float),
        x=[int(k) for k in grid.columns],
        y=[period_label(c, grain) for c in grid.index],
        colorscale="Blues", zmin=0, zmax=1, colorbar=dict(tickformat=".0%"),
        hovertemplate="cohort %{y}, +%{x} periods: %{z:.1%}<extra></extra>",
    ))
    figure.update_layout(
        xaxis_title=f"{grain}s since acquisition", yaxis_title="cohort", yaxis_autorange="reversed",
        height=max(360, 18 * len(grid.index)), margin=dict(t=10, b=10),
    )
    st.plotly_chart(figure, width="stretch", key="cohort_heatmap")


MOVEMENTS = {  # movement: bar colour
    "new_revenue": "#1f77b4",
    "reactivated_revenue": "#9ecae1",
    "expansion_revenue": "#2ca02c",
    "contraction_revenue": "#ff9f4a",
    "churned_revenue": "#d62728",
}
LOSSES = {"contraction_revenue", "churned_revenue"}


def revenue_movements(revenue: pd.DataFrame) -> None:
    figure = go.Figure()
    for movement, colour in MOVEMENTS.items():
        # Losses are drawn below the axis; their values (hover, table) stay as the mart has them.
        sign = -1 if movement in LOSSES else 1
        figure.add_bar(
            x=revenue["period_start"], y=sign * revenue[movement].astype(float), name=movement.removesuffix("_revenue"),
            marker_color=colour,
            customdata=revenue[movement].astype(float), hovertemplate="%{x}: %{customdata:,.2f}<extra>%{fullData.name}</extra>",
        )
    figure.update_layout(barmode="relative", height=360, margin=dict(t=10, b=10), yaxis_title="net revenue")
    st.plotly_chart(figure, width="stretch", key="revenue_movements_chart")
    with st.expander("Revenue movements table"):
        st.dataframe(revenue[["period_start", "starting_revenue", *MOVEMENTS, "ending_revenue",
                              "gross_revenue_retention", "net_revenue_retention", "revenue_churn_rate"]],
                     hide_index=True, key="revenue_movements_table")


def repeat_and_aov(repeat: pd.DataFrame, aov: pd.DataFrame) -> None:
    left, right = st.columns(2)
    with left:
        st.markdown("**Repeat-customer rate**")
        figure = px.line(repeat, x="period_start", y=["repeat_customer_rate", "returning_customer_rate"], markers=True,
                         labels={"period_start": "period", "value": "rate", "variable": "rate"})
        figure.update_layout(yaxis_tickformat=".0%", height=320, margin=dict(t=10, b=10))
        st.plotly_chart(figure, width="stretch", key="repeat_rate_chart")
    with right:
        st.markdown("**Average order value**")
        figure = px.line(aov, x="period_start", y=["aov", "new_customer_aov", "returning_customer_aov"], markers=True,
                         labels={"period_start": "period", "value": "net revenue per order", "variable": "customers"})
        figure.update_layout(height=320, margin=dict(t=10, b=10))
        st.plotly_chart(figure, width="stretch", key="aov_chart")


def rfm_segments(segments: pd.DataFrame) -> None:
    ordered = segments.sort_values("customers", ascending=False)
    figure = px.bar(ordered, x="rfm_segment", y="customers", color="net_revenue_per_customer",
                    color_continuous_scale="Blues", labels={"rfm_segment": "RFM segment"})
    figure.update_layout(height=320, margin=dict(t=10, b=10))
    st.plotly_chart(figure, width="stretch", key="rfm_chart")
    st.dataframe(ordered, hide_index=True, key="rfm_table")


def at_risk(customers: pd.DataFrame) -> None:
    st.caption("Active customers past the at-risk threshold, ranked by the revenue at stake: the first 50 here, "
               "all of them in the CSV.")
    st.dataframe(customers.head(50), hide_index=True, key="at_risk_table")
    st.download_button(
        "Download the at-risk list (CSV)", customers.to_csv(index=False).encode("utf-8"),
        file_name="crm_at_risk_customers.csv", mime="text/csv", key="at_risk_download",
    )


def predictions(source: Source, present: set[str]) -> None:
    """Per-customer predictions and the fitted model, when the build has them (the columns exist
    but stay null where the predictive models do not run)."""
    for table in ("crm__clv", "crm__customers"):
        if table not in present:
            continue
        columns = set(query(source, f"select * from {source.relation(table)} where 1 = 0").columns)
        if not {"p_alive", "predicted_clv"} <= columns:
            continue
        top = query(source, f"select customer_id, p_alive, predicted_clv from {source.relation(table)} "
                            "where predicted_clv is not null order by predicted_clv desc, customer_id limit 20")
        if top.empty:
            continue
        st.header("Predictions")
        st.markdown(f"**Highest predicted CLV** ({table})")
        st.dataframe(top, hide_index=True, key="predicted_clv_table")
        if "crm__clv_model" in present:
            st.markdown("**Fitted model** (crm__clv_model)")
            st.dataframe(read(source, "crm__clv_model"), hide_index=True, key="clv_model_table")
        return


def main() -> None:
    st.set_page_config(page_title="Customer retention", layout="wide")
    source = Source.from_environment()
    st.title("Customer retention")
    present = tables(source)
    settings = read(source, "crm__report_settings").iloc[0]
    grain = settings["period_grain"]
    st.caption(
        f"Grain: **{grain}** · As of **{pd.Timestamp(settings['as_of_date']).date()}** · "
        f"Churn window {int(settings['churn_window_days'])} days · At risk after {int(settings['at_risk_days'])} days · "
        f"Source: {source.label}"
    )
    segment = segment_filter(source, present)
    if segment is not None:
        st.info(f"Segment: {segment[0]} = {segment[1]}")

    kpis, segmented = segment_rows(source, present, "kpis", "crm__kpis", segment, "period_start")
    headline(kpis, grain)
    segment_note(segment, segmented)

    st.header("Retention, churn and survival")
    retention, segmented = segment_rows(source, present, "retention", "crm__retention", segment, "period_start")
    retention_over_time(retention)
    segment_note(segment, segmented)

    st.header("Cohort retention")
    cohorts, segmented = segment_rows(source, present, "cohorts", "crm__cohort_retention", segment,
                                      "cohort_period, periods_since_acquisition")
    cohort_heatmap(cohorts, grain)
    segment_note(segment, segmented)

    st.header("Revenue movements")
    revenue_movements(read(source, "crm__revenue_retention", "period_start"))
    segment_note(segment, False)

    st.header("Repeat purchasing and order value")
    repeat_and_aov(read(source, "crm__repeat_rate", "period_start"), read(source, "crm__aov", "period_start"))
    segment_note(segment, False)

    st.header("RFM segments")
    rfm_segments(read(source, "crm__rfm_segments"))

    st.header("At-risk customers")
    at_risk(read(source, "crm__at_risk_customers", "value_at_stake_rank"))

    predictions(source, present)


main()
