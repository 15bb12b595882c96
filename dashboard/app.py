"""The crm_retention dashboard: a Streamlit page over the package's marts.

Every number on the page is a value of a mart. The app selects rows, filters them by segment and
period, sorts and formats them; its arithmetic is the change shown on each headline tile (the
difference of the last complete period's value and the one before, of the same mart column) and
the rejected share in the data-quality table (rejected raw rows over raw rows of a source).
Values that come from the data (segment values, customer ids) are shown as plain text.

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

# Below this many customers at the start of a period, a segment's rates swing with a handful of
# customers: the page says so beside them.
SMALL_SEGMENT = 30
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~$:])")


def plain(text) -> str:
    """A value from the data, escaped so that Streamlit's Markdown shows it as typed: no link,
    image or formatting a customer attribute could smuggle onto the page."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def is_missing(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


@dataclass(frozen=True)
class Units:
    """How the page writes numbers: money carries the reporting currency when the build has one."""

    currency: str | None

    def money(self, value) -> str:
        text = f"{float(value):,.2f}"
        return f"{self.currency} {text}" if self.currency else text

    def money_change(self, difference) -> str:
        text = f"{float(difference):+,.2f}"
        return f"{self.currency} {text}" if self.currency else text

    @property
    def money_column(self) -> str:
        return f"{self.currency} %,.2f" if self.currency else "%,.2f"

    def shown(self, value, kind: str) -> str:
        if is_missing(value):
            return "–"
        return {
            "rate": lambda v: f"{float(v):.1%}",
            "count": lambda v: f"{int(v):,}",
            "money": self.money,
            "score": lambda v: f"{float(v):.1f}",
            "ratio": lambda v: f"{float(v):.2f}",
        }[kind](value)

    def change(self, latest, previous, kind: str) -> str | None:
        if is_missing(latest) or is_missing(previous):
            return None
        difference = latest - previous
        return {
            "rate": lambda d: f"{float(d) * 100:+.1f} pp",
            "count": lambda d: f"{int(d):+,}",
            "money": self.money_change,
            "score": lambda d: f"{float(d):+.1f}",
            "ratio": lambda d: f"{float(d):+.2f}",
        }[kind](difference)

    def columns(self, frame: pd.DataFrame) -> dict:
        """st.dataframe column settings: a human label for every column, rates as percentages,
        money with the currency."""
        config = {}
        for name in frame.columns:
            label = LABELS.get(name, name.replace("_", " ").capitalize())
            kind = kind_of(name)
            if kind == "rate":
                config[name] = st.column_config.NumberColumn(label, format="percent")
            elif kind == "money":
                config[name] = st.column_config.NumberColumn(label, format=self.money_column)
            elif kind == "count":
                config[name] = st.column_config.NumberColumn(label, format="%d")
            else:
                config[name] = st.column_config.Column(label)
        return config


LABELS = {
    "period_start": "Period", "period": "Period", "aov": "Average order value", "rfm_segment": "RFM segment",
    "value_at_stake_rank": "Rank", "customer_id": "Customer", "value_at_stake": "Net revenue at stake",
    "p_alive": "P(alive)", "predicted_clv": "Predicted CLV", "share_of_customers": "Share of customers",
    "share_of_revenue": "Share of revenue", "net_revenue_per_customer": "Net revenue per customer",
    "gross_revenue_retention": "Gross revenue retention", "net_revenue_retention": "Net revenue retention",
    "cohort_period": "Cohort", "cohort_size": "Customers acquired", "source_table": "Source",
}


def kind_of(column: str) -> str | None:
    if column.endswith(("_rate", "_retention")) or column.startswith("share_of") or column == "p_alive":
        return "rate"
    if column.endswith(("revenue", "_clv", "aov", "value_at_stake", "_per_customer")) or column == "formula_clv":
        return "money"
    if column in ("customers", "orders", "raw_rows", "staged_rows", "rejected_rows", "days_until_churn",
                  "days_since_last_order", "value_at_stake_rank", "cohort_size") or column.endswith("_customers"):
        return "count"
    return None


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
NOT_PER_SEGMENT = "n/a per segment"


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
# The controls


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


def period_filter(periods: list, grain: str) -> tuple:
    """The sidebar's period range for the whole page: every period-grain chart and table, and
    the cohorts acquired in it."""
    st.sidebar.header("Periods")
    if len(periods) < 2:
        return (periods[0], periods[-1]) if periods else (None, None)
    first, last = st.sidebar.select_slider(
        "From and to", options=periods, value=(periods[0], periods[-1]),
        format_func=lambda p: period_label(p, grain), key="period_range",
    )
    return first, last


def in_range(frame: pd.DataFrame, column: str, span: tuple) -> pd.DataFrame:
    if span[0] is None or frame.empty:
        return frame
    days = pd.to_datetime(frame[column])
    return frame[(days >= pd.Timestamp(span[0])) & (days <= pd.Timestamp(span[1]))].reset_index(drop=True)


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


# ---------------------------------------------------------------------------------------------
# The views


def mark_partial(figure, frame: pd.DataFrame) -> None:
    """A shaded band over each partial period of a time chart (the current period, to the as-of date)."""
    for _, row in frame[~frame["is_complete_period"].astype(bool)].iterrows():
        figure.add_vrect(x0=row["period_start"], x1=row["period_end"], fillcolor="grey", opacity=0.15,
                         line_width=0, annotation_text="partial", annotation_position="top left")


def with_partial_label(frame: pd.DataFrame, grain: str) -> pd.DataFrame:
    """A table's rows with a Period column that says which period is partial."""
    shown = frame.copy()
    shown.insert(0, "period", [period_label(p, grain) + ("" if complete else " (partial)")
                               for p, complete in zip(frame["period_start"], frame["is_complete_period"])])
    return shown


def headline(kpis: pd.DataFrame, grain: str, units: Units, segmented: bool) -> None:
    complete = kpis[kpis["is_complete_period"].astype(bool)]
    if complete.empty:
        st.subheader("Headline: no complete period yet")
        return
    latest = complete.iloc[-1]
    previous = complete.iloc[-2] if len(complete) > 1 else None
    versus = f", change on {period_label(previous['period_start'], grain)}" if previous is not None else ""
    st.subheader(f"Headline: {period_label(latest['period_start'], grain)} (last complete period{versus})")
    partial = kpis[~kpis["is_complete_period"].astype(bool)]
    if not partial.empty:
        st.caption(f"{period_label(partial.iloc[-1]['period_start'], grain)} is partial (to the as-of date): "
                   "it is shaded on the charts and marked in the tables, and the tiles leave it out.")
    for row_start in range(0, len(TILES), 4):
        columns = st.columns(4)
        for column, (label, name, kind, rise_is_bad) in zip(columns, TILES[row_start:row_start + 4]):
            if name not in kpis.columns:
                column.metric(label, NOT_PER_SEGMENT, help="Defined for all customers only, not per segment.")
                continue
            delta = units.change(latest[name], previous[name], kind) if previous is not None else None
            column.metric(label, units.shown(latest[name], kind), delta, delta_color="inverse" if rise_is_bad else "normal")
    if segmented:
        size = latest["customers_at_start"]
        st.caption(f"Segment size: {units.shown(size, 'count')} customers at the start of "
                   f"{period_label(latest['period_start'], grain)}.")
        if is_missing(size) or size < SMALL_SEGMENT:
            st.warning(f"Small segment: fewer than {SMALL_SEGMENT} customers at the start of the period, so one "
                       "customer more or less moves its rates by several points.")


def retention_over_time(retention: pd.DataFrame) -> None:
    long = retention.melt(
        id_vars="period_start", value_vars=["retention_rate", "churn_rate", "survival_rate"],
        var_name="rate", value_name="value",
    )
    figure = px.line(long, x="period_start", y="value", color="rate", markers=True,
                     labels={"period_start": "period", "value": "rate"})
    mark_partial(figure, retention)
    figure.update_layout(yaxis_tickformat=".0%", height=360, margin=dict(t=10, b=10))
    st.plotly_chart(figure, width="stretch", key="retention_chart")
    st.caption(
        "Survival rate: the share of the customers active at the start of a period who are still active at its "
        "end. Retention rate (CRR): (customers at end − new customers) / customers at start; reactivated "
        "customers count in the end, so it can exceed 100% when more lapsed customers come back than "
        "active ones churn. Churn rate: customers lost in the period over customers at its start."
    )


def order_gaps(gaps: pd.DataFrame, window_days: int) -> None:
    """How long customers take to come back (crm__order_gaps), the churn window marked: a gap of
    W days or more is a churn and a reactivation."""
    if gaps.empty:
        return
    st.subheader("Days between a customer's orders")
    figure = px.bar(gaps, x="gap_days", y="gaps",
                    labels={"gap_days": "days from one order day to the next", "gaps": "repeat gaps"})
    figure.add_vline(x=window_days - 0.5, line_dash="dash", line_color="firebrick",
                     annotation_text=f"churn window: {window_days} days")
    figure.update_layout(height=300, margin=dict(t=30, b=10))
    st.plotly_chart(figure, width="stretch", key="order_gaps_chart")
    split = gaps.loc[gaps["gap_days"] >= window_days, "gaps"].sum() / gaps["gaps"].sum()
    covering = int(gaps.loc[gaps["cumulative_share"] >= 0.9, "gap_days"].min())
    st.caption(
        f"{split:.1%} of repeat gaps are {window_days} days or longer: the churn window counts each as a churn "
        f"and a reactivation. 90% of gaps are {covering} days or shorter; a window of {covering + 1} days "
        "(crm_churn_window_days) keeps them in one spell."
    )


COHORT_MEASURES = {
    "Customer retention": ("retention_rate", ".0%", "rate"),
    "Revenue per customer": ("cumulative_revenue_per_customer", ",.0f", "money"),
    "Unbounded retention": ("unbounded_retention_rate", ".0%", "rate"),
}


def cohort_heatmap(cohorts: pd.DataFrame, grain: str, units: Units) -> None:
    choice = st.radio("Cohort measure", list(COHORT_MEASURES), horizontal=True, key="cohort_measure")
    column, number_format, kind = COHORT_MEASURES[choice]
    if cohorts.empty:
        st.caption("No cohort in the chosen periods.")
        return
    grid = cohorts.pivot(index="cohort_period", columns="periods_since_acquisition", values=column).sort_index()
    partial = cohorts.pivot(index="cohort_period", columns="periods_since_acquisition", values="is_complete_period").sort_index()
    sizes = cohorts.groupby("cohort_period")["cohort_size"].first().sort_index()
    text = [[("" if is_missing(value) else format(float(value), number_format))
             + ("*" if not is_missing(done) and not bool(done) else "")
             for value, done in zip(values, flags)]
            for values, flags in zip(grid.to_numpy(dtype=object), partial.to_numpy(dtype=object))]
    figure = go.Figure(go.Heatmap(
        z=grid.to_numpy(dtype=float),
        x=[int(k) for k in grid.columns],
        y=[period_label(c, grain) for c in grid.index],
        text=text, texttemplate="%{text}", textfont=dict(size=9),
        customdata=[[int(sizes[c])] * len(grid.columns) for c in grid.index],
        colorscale="Blues", zmin=0, zmax=1 if kind == "rate" else None,
        colorbar=dict(tickformat=".0%" if kind == "rate" else ",.0f"),
        hovertemplate="cohort %{y} (%{customdata} customers), +%{x} periods: %{text}<extra></extra>",
    ))
    figure.update_layout(
        xaxis_title=f"{grain}s since acquisition", yaxis_title="cohort", yaxis_autorange="reversed",
        height=max(360, 18 * len(grid.index)), margin=dict(t=10, b=10),
    )
    left, right = st.columns([5, 1])
    with left:
        st.plotly_chart(figure, width="stretch", key="cohort_heatmap")
    with right:
        frame = pd.DataFrame({"cohort_period": [period_label(c, grain) for c in sizes.index], "cohort_size": sizes.values})
        st.dataframe(frame, hide_index=True, column_config=units.columns(frame), key="cohort_sizes_table")
    st.caption("* partial period (to the as-of date)." + (f" Money in {units.currency}." if kind == "money" and units.currency else ""))
    with st.expander("Cohort table"):
        table = cohorts[["cohort_period", "periods_since_acquisition", "cohort_size", "active_customers",
                         "retention_rate", "revenue", "cumulative_revenue_per_customer", "is_complete_period"]]
        st.dataframe(table, hide_index=True, column_config=units.columns(table), key="cohort_table")


def curve_label(row, grain: str) -> str:
    """The name a curve of the survival marts goes by on the page."""
    if row["curve"] == "cohort":
        return f"cohort {period_label(row['cohort_period'], grain)}"
    if row["curve"] == "segment":
        return f"{row['segment_name']} = {row['segment_value']}"
    return ALL_CUSTOMERS


def survival_curves(frame: pd.DataFrame, chosen: list[str], days: str, grain: str, key: str) -> None:
    """Step curves of the chosen curves' Kaplan-Meier estimates, each with its 95% interval."""
    frame = frame.assign(label=[curve_label(row, grain) for _, row in frame.iterrows()])
    figure = go.Figure()
    for label in chosen:
        curve = frame[frame["label"] == label].sort_values(days)
        x = [0, *curve[days].astype(int)]
        figure.add_trace(go.Scatter(x=x, y=[1.0, *curve["survival_rate"]], name=label, mode="lines", line_shape="hv"))
        figure.add_trace(go.Scatter(x=x + x[::-1], y=[1.0, *curve["survival_upper"], *curve["survival_lower"][::-1], 1.0],
                                    name=f"{label} 95%", fill="toself", line_shape="hv", line_width=0, opacity=0.2,
                                    showlegend=False, hoverinfo="skip"))
    figure.update_layout(xaxis_title=days.replace("_", " "), yaxis_tickformat=".0%", yaxis_range=[0, 1.02],
                         height=360, margin=dict(t=10, b=10))
    st.plotly_chart(figure, width="stretch", key=key)


def survival_section(source: Source, present: set[str], grain: str, segment, units: Units) -> None:
    """Survival of the first spell and time to the second order (Kaplan-Meier, censored at the
    as-of date) for the cohorts the reader picks, and the first-product cohorts."""
    if "crm__survival" not in present:
        return
    st.header("Survival and time to second order")
    survival = read(source, "crm__survival", "curve, cohort_period, days_since_acquisition")
    cohort_labels = sorted({curve_label(row, grain) for _, row in survival[survival["curve"] == "cohort"].iterrows()})
    options = [ALL_CUSTOMERS, *cohort_labels]
    if segment is not None:
        options.insert(1, f"{segment[0]} = {segment[1]}")
    chosen = st.multiselect("Curves", options, default=options[:1] + cohort_labels[-2:], key="survival_cohorts")
    left, right = st.columns(2)
    with left:
        st.markdown("**Still active, days after acquisition**")
        survival_curves(survival, chosen, "days_since_acquisition", grain, "survival_chart")
    with right:
        st.markdown("**Not yet reordered, days after the first order**")
        second = read(source, "crm__time_to_second_order", "curve, cohort_period, days_since_first_order")
        survival_curves(second, chosen, "days_since_first_order", grain, "second_order_chart")
    st.caption("Kaplan-Meier estimates: customers still active (or not yet reordered) on the as-of date are censored "
               "there, not counted as lost; the band is the 95% interval.")
    rates = read(source, "crm__second_order_rates", "curve, cohort_period, segment_name, segment_value")
    rates = rates.assign(curve=[curve_label(row, grain) for _, row in rates.iterrows()])
    table = rates[rates["curve"].isin(chosen)][["curve", "customers", "reordered_customers", "median_days_to_second_order",
                                                "reorder_rate_30d", "reorder_rate_60d", "reorder_rate_90d"]]
    st.dataframe(table, hide_index=True, column_config=units.columns(table), key="second_order_rates_table")
    st.caption("A 30/60/90-day share counts only the customers whose first order is that many days before the as-of date.")
    if "crm__cohort_retention_by_first_product" in present:
        first_products(read(source, "crm__cohort_retention_by_first_product",
                            "segment_name, segment_value, cohort_period, periods_since_acquisition"), units)


def first_products(cohorts: pd.DataFrame, units: Units) -> None:
    """Retention k periods after acquisition by what the customers bought first, over all cohorts."""
    st.subheader("Cohorts by first product")
    breakdown = st.radio("First", ["product_category", "product_id"], horizontal=True, key="first_product_breakdown",
                         format_func=lambda name: {"product_category": "Category", "product_id": "Product"}[name])
    rows = cohorts[cohorts["segment_name"] == breakdown]
    sums = rows.groupby(["segment_value", "periods_since_acquisition"])[["cohort_size", "active_customers"]].sum()
    table = (sums["active_customers"] / sums["cohort_size"]).unstack("periods_since_acquisition")
    customers = rows[rows["periods_since_acquisition"] == 0].groupby("segment_value")["cohort_size"].sum()
    table.columns = [f"+{int(k)}" for k in table.columns]
    table.insert(0, "customers", customers.reindex(table.index))
    table = table.reset_index().rename(columns={"segment_value": "first product"})
    config = {column: st.column_config.NumberColumn(column, format="percent") for column in table.columns[2:]}
    st.dataframe(table, hide_index=True, column_config={**config, "customers": st.column_config.NumberColumn(
        "Customers acquired", format="%d")}, key="first_product_table")
    st.caption("Share of the customers whose first order's main line was this product (or category) with an order "
               "k periods after acquisition, over every cohort that has reached k.")


MOVEMENTS = {  # movement: bar colour
    "new_revenue": "#1f77b4",
    "reactivated_revenue": "#9ecae1",
    "expansion_revenue": "#2ca02c",
    "contraction_revenue": "#ff9f4a",
    "churned_revenue": "#d62728",
}
LOSSES = {"contraction_revenue", "churned_revenue"}


def revenue_movements(revenue: pd.DataFrame, grain: str, units: Units) -> None:
    figure = go.Figure()
    for movement, colour in MOVEMENTS.items():
        # Losses are drawn below the axis; their values (hover, table) stay as the mart has them.
        sign = -1 if movement in LOSSES else 1
        figure.add_bar(
            x=revenue["period_start"], y=sign * revenue[movement].astype(float), name=movement.removesuffix("_revenue"),
            marker_color=colour,
            customdata=revenue[movement].astype(float), hovertemplate="%{x}: %{customdata:,.2f}<extra>%{fullData.name}</extra>",
        )
    mark_partial(figure, revenue)
    figure.update_layout(barmode="relative", height=360, margin=dict(t=10, b=10),
                         yaxis_title=f"net revenue ({units.currency})" if units.currency else "net revenue")
    st.plotly_chart(figure, width="stretch", key="revenue_movements_chart")
    with st.expander("Revenue movements table"):
        table = with_partial_label(revenue, grain)[
            ["period", "period_start", "starting_revenue", *MOVEMENTS, "ending_revenue", "gross_revenue_retention",
             "net_revenue_retention", "revenue_churn_rate"]]
        st.dataframe(table, hide_index=True, column_config=units.columns(table), key="revenue_movements_table")


def repeat_and_aov(repeat: pd.DataFrame, aov: pd.DataFrame, units: Units) -> None:
    left, right = st.columns(2)
    with left:
        st.markdown("**Repeat-customer rate**")
        figure = px.line(repeat, x="period_start", y=["repeat_customer_rate", "returning_customer_rate"], markers=True,
                         labels={"period_start": "period", "value": "rate", "variable": "rate"})
        mark_partial(figure, repeat)
        figure.update_layout(yaxis_tickformat=".0%", height=320, margin=dict(t=10, b=10))
        st.plotly_chart(figure, width="stretch", key="repeat_rate_chart")
    with right:
        st.markdown("**Average order value**" + (f" ({units.currency})" if units.currency else ""))
        figure = px.line(aov, x="period_start", y=["aov", "new_customer_aov", "returning_customer_aov"], markers=True,
                         labels={"period_start": "period", "value": "net revenue per order", "variable": "customers"})
        mark_partial(figure, aov)
        figure.update_layout(height=320, margin=dict(t=10, b=10))
        st.plotly_chart(figure, width="stretch", key="aov_chart")


def rfm_segments(segments: pd.DataFrame, units: Units) -> None:
    ordered = segments.sort_values("customers", ascending=False)
    figure = px.bar(ordered, x="rfm_segment", y="customers", color="net_revenue_per_customer",
                    color_continuous_scale="Blues", labels={"rfm_segment": "RFM segment"})
    figure.update_layout(height=320, margin=dict(t=10, b=10))
    st.plotly_chart(figure, width="stretch", key="rfm_chart")
    st.dataframe(ordered, hide_index=True, column_config=units.columns(ordered), key="rfm_table")


# The at-risk table shows what it is ranked by first.
AT_RISK_FIRST = ["value_at_stake_rank", "customer_id", "value_at_stake", "days_until_churn", "days_since_last_order"]


def at_risk(customers: pd.DataFrame, units: Units) -> None:
    st.caption("Active customers past the at-risk threshold, ranked by the revenue at stake: the first 50 here, "
               "all of them in the CSV.")
    ordered = customers[[c for c in AT_RISK_FIRST if c in customers.columns]
                        + [c for c in customers.columns if c not in AT_RISK_FIRST]]
    shown = ordered.head(50)
    st.dataframe(shown, hide_index=True, column_config=units.columns(shown), key="at_risk_table")
    st.download_button(
        "Download the at-risk list (CSV)", customers.to_csv(index=False).encode("utf-8"),
        file_name="crm_at_risk_customers.csv", mime="text/csv", key="at_risk_download",
    )


def data_quality(source: Source, present: set[str], settings) -> None:
    """Raw, staged and rejected rows by source, the reasons, and the guards' thresholds."""
    if "crm__raw_row_outcomes" not in present:
        return
    st.header("Data quality")
    outcomes = read(source, "crm__raw_row_outcomes", "source_table, outcome")
    sources = []
    for name, rows in outcomes.groupby("source_table", sort=True):
        raw = int(rows["raw_rows"].sum())
        staged = int(rows.loc[rows["is_staged"].astype(bool), "raw_rows"].sum())
        superseded = int(rows.loc[rows["outcome"] == "superseded_version", "raw_rows"].sum())
        sources.append({"source_table": name, "raw_rows": raw, "staged_rows": staged, "rejected_rows": raw - staged,
                        "rejected_share": (raw - staged - superseded) / raw if raw else None})
    summary = pd.DataFrame(sources)
    config = Units(None).columns(summary)
    config["rejected_share"] = st.column_config.NumberColumn("Rejected share (superseded versions aside)", format="percent")
    st.dataframe(summary, hide_index=True, column_config=config, key="data_quality_table")
    st.caption(f"The build warns when a source's rejected share is above {float(settings['rejected_share_warn']):.1%} "
               f"and fails above {float(settings['rejected_share_error']):.1%} (crm_rejected_share_warn, "
               "crm_rejected_share_error). Each rejected row, with its raw values, is in crm__rejected_rows.")
    reasons = outcomes[~outcomes["is_staged"].astype(bool)].sort_values(["source_table", "raw_rows"], ascending=[True, False])
    with st.expander("Rejected rows by reason"):
        table = reasons[["source_table", "outcome", "raw_rows"]]
        st.dataframe(table, hide_index=True, column_config={**Units(None).columns(table),
                     "outcome": st.column_config.Column("Reason")}, key="rejected_reasons_table")


def predictions(source: Source, present: set[str], units: Units) -> None:
    """Per-customer predictions, the fitted model and the backtest, when the build has the model
    (crm__clv_model). A model that did not converge, or predictions that are off, are said so,
    with the build's own reason, instead of an empty section."""
    if "crm__clv_model" not in present:
        return
    st.header("Predictions")
    model = read(source, "crm__clv_model")
    if "is_converged" in model.columns and len(model):
        fit = model.iloc[0]
        note = plain(fit["fit_note"]) if "fit_note" in model.columns and not is_missing(fit["fit_note"]) else "no reason recorded"
        if is_missing(fit["is_converged"]):
            st.info(f"No model was fitted in this build: {note}.")
        elif not bool(fit["is_converged"]):
            st.warning(f"The predictive model did not converge, so the predictions it would give are empty. Why: {note}.")
    for table in ("crm__clv", "crm__customers"):
        if table not in present:
            continue
        columns = set(query(source, f"select * from {source.relation(table)} where 1 = 0").columns)
        if not {"p_alive", "predicted_clv"} <= columns:
            continue
        top = query(source, f"select customer_id, p_alive, predicted_clv from {source.relation(table)} "
                            "where predicted_clv is not null order by predicted_clv desc, customer_id limit 20")
        if not top.empty:
            st.markdown(f"**Highest predicted CLV** ({table})")
            st.dataframe(top, hide_index=True, column_config=units.columns(top), key="predicted_clv_table")
        break
    st.markdown("**Fitted model** (crm__clv_model)")
    st.dataframe(model, hide_index=True, key="clv_model_table")
    backtest(source, present)


def backtest(source: Source, present: set[str]) -> None:
    """The purchase model refitted on the data before the holdout, against what customers did in
    it (crm__clv_backtest, crm__clv_backtest_tracking)."""
    if "crm__clv_backtest" not in present:
        return
    groups = read(source, "crm__clv_backtest", "group_order")
    if groups.empty:
        return
    overall = groups.iloc[0]
    st.subheader("Backtest")
    calibration_end = pd.Timestamp(overall["calibration_end_date"]).date()
    st.caption(f"The purchase model refitted on the data up to {calibration_end}, its expected purchase days in the "
               f"{int(overall['holdout_days'])} days after (to {pd.Timestamp(overall['holdout_end_date']).date()}) "
               "against those the customers of that period made (crm__clv_backtest).")
    if not bool(overall["is_converged"]):
        st.warning(f"The backtest's model, fitted up to {calibration_end}, did not converge, so it has no expected "
                   f"values. Why: {plain(overall['fit_note'])}.")
        return
    left, right = st.columns(2)
    if "crm__clv_backtest_tracking" in present:
        tracking = read(source, "crm__clv_backtest_tracking", "period_start")
        with left:
            st.markdown("**Cumulative purchase days in the holdout**")
            figure = px.line(tracking, x="closing_date", y=["cumulative_actual_purchases", "cumulative_expected_purchases"],
                             markers=True, labels={"closing_date": "up to", "value": "purchase days", "variable": ""})
            figure.update_layout(height=320, margin=dict(t=10, b=10))
            st.plotly_chart(figure, width="stretch", key="backtest_tracking_chart")
    by_group = groups[groups["frequency_group"] != "all"]
    with right:
        st.markdown("**Purchase days per customer in the holdout, by purchase days before it**")
        figure = px.bar(by_group, x="frequency_group", y=["mean_actual_purchases", "mean_expected_purchases"],
                        barmode="group", labels={"frequency_group": "repeat purchase days before the holdout",
                                                 "value": "per customer", "variable": ""})
        figure.update_layout(height=320, margin=dict(t=10, b=10))
        st.plotly_chart(figure, width="stretch", key="backtest_groups_chart")
    st.caption(f"In all: {int(overall['actual_purchases']):,} purchase days made, {overall['expected_purchases']:,.1f} "
               f"expected; mean absolute error {overall['mean_absolute_error']:.2f} purchase days per customer.")


def main() -> None:
    st.set_page_config(page_title="Customer retention", layout="wide")
    source = Source.from_environment()
    st.title("Customer retention")
    present = tables(source)
    settings = read(source, "crm__report_settings").iloc[0]
    grain = settings["period_grain"]
    currency = settings.get("reporting_currency")
    units = Units(None if is_missing(currency) else str(currency))
    st.caption(
        f"Grain: **{grain}** · As of **{pd.Timestamp(settings['as_of_date']).date()}** · "
        f"Churn window {int(settings['churn_window_days'])} days · At risk after {int(settings['at_risk_days'])} days · "
        + (f"Money in **{plain(units.currency)}** · " if units.currency else "")
        + f"Source: {plain(source.label)}"
    )
    segment = segment_filter(source, present)
    if segment is not None:
        st.info(f"Segment: {plain(segment[0])} = {plain(segment[1])}")

    kpis, segmented = segment_rows(source, present, "kpis", "crm__kpis", segment, "period_start")
    span = period_filter(list(pd.to_datetime(kpis["period_start"]).dt.date), grain)
    kpis = in_range(kpis, "period_start", span)
    headline(kpis, grain, units, segmented)
    segment_note(segment, segmented)

    st.header("Retention, churn and survival")
    retention, segmented = segment_rows(source, present, "retention", "crm__retention", segment, "period_start")
    retention_over_time(in_range(retention, "period_start", span))
    segment_note(segment, segmented)
    if "crm__order_gaps" in present:
        order_gaps(read(source, "crm__order_gaps", "gap_days"), int(settings["churn_window_days"]))

    st.header("Cohort retention")
    cohorts, segmented = segment_rows(source, present, "cohorts", "crm__cohort_retention", segment,
                                      "cohort_period, periods_since_acquisition")
    cohort_heatmap(in_range(in_range(cohorts, "cohort_period", span), "period_start", span), grain, units)
    segment_note(segment, segmented)
    survival_section(source, present, grain, segment, units)

    st.header("Revenue movements")
    revenue_movements(in_range(read(source, "crm__revenue_retention", "period_start"), "period_start", span), grain, units)
    segment_note(segment, False)

    st.header("Repeat purchasing and order value")
    repeat_and_aov(in_range(read(source, "crm__repeat_rate", "period_start"), "period_start", span),
                   in_range(read(source, "crm__aov", "period_start"), "period_start", span), units)
    segment_note(segment, False)

    st.header("RFM segments")
    rfm_segments(read(source, "crm__rfm_segments"), units)

    st.header("At-risk customers")
    at_risk(read(source, "crm__at_risk_customers", "value_at_stake_rank"), units)

    data_quality(source, present, settings)
    predictions(source, present, units)


main()
