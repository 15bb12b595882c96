"""The polars peer: the package's headline tables computed with polars' lazy API.

A second yardstick for `make bench`, beside benchmarks/pandas_peer.py: the same tables from the same
raw orders and customers in the benchmark's DuckDB file, written the way a capable analyst would
with polars: lazy queries (group_by, join, sorted shifts, cumulative sums), no Python
loops over rows, customers or periods.

- retention: the window model of SPEC section 3 (S, N, R, C, E, retained and the rates);
- cohort retention, repeat rate and AOV per period (SPEC section 4);
- customer CLV (historical, acquisition cost from marketing spend, net).

The cleaning is the pandas peer's, which is what the marts do to the benchmark's typed data:
the latest version of each order_id wins (latest `updated_at`, a missing one losing; ties go to
the later `ordered_at`, the marts' second tie-break, which the pandas peer leaves out, then to the
later raw row rather than the marts' comparison of raw values), statuses are trimmed and lower-cased and only
counted ones enter, orders need an order id, a customer id and an order time no later than
today, amounts and refunds must not be negative, net revenue is floored at 0, and an order whose
customer has no customer row (a guest) is kept. Text-typed raw columns are out of its scope.
tests/python/test_peers.py checks each table equals the package's mart.

Run: python benchmarks/polars_peer.py DATABASE [--schema crm_raw] [--period month] ...
It prints its stage timings and the row counts of its tables, as JSON on the last line.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from peer_cli import Laps, run_in_memory_peer
from raw_schema import COUNTED_STATUSES

# polars' truncate and offset intervals of each period grain (weeks start on Monday).
INTERVALS = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}
ONE_DAY = pl.duration(days=1)


def load(con: duckdb.DuckDBPyConnection, schema: str, orders_table: str, customers_table: str,
         spend_table: str | None) -> dict[str, pl.DataFrame]:
    """The raw columns the tables need, as the loader typed them (Arrow, no copy through pandas)."""
    con.execute("set enable_progress_bar = false")
    queries = {
        "orders": f"select order_id, customer_id, ordered_at, status, amount, refunded_amount, updated_at "
                  f"from {schema}.{orders_table}",
        "customers": f"select customer_id, acquisition_channel, updated_at from {schema}.{customers_table}",
    }
    if spend_table:
        queries["spend"] = f"select spent_on, channel, amount from {schema}.{spend_table}"
    return {name: pl.DataFrame(con.sql(query)) for name, query in queries.items()}


def _normalised(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.to_lowercase()


def _rate(numerator: str | pl.Expr, denominator: str) -> pl.Expr:
    """A fraction, null when its denominator is 0 (SPEC section 2)."""
    numerator = pl.col(numerator) if isinstance(numerator, str) else numerator
    return pl.when(pl.col(denominator) != 0).then(numerator / pl.col(denominator))


def latest_versions(raw_orders: pl.LazyFrame) -> pl.LazyFrame:
    """One row per order_id: the latest version. Only ids that occur more than once are sorted.

    Repeated ids are found by their 64-bit hashes, cheaper than by the text: a hash collision
    only sends a few more rows through the sort, where the ids themselves are compared.
    """
    flagged = raw_orders.filter(pl.col("order_id").is_not_null()).with_columns(
        is_repeated=pl.col("order_id").hash().is_duplicated())
    latest = (
        flagged.filter("is_repeated")
        .sort(["updated_at", "ordered_at"], nulls_last=False, maintain_order=True)
        .unique("order_id", keep="last")
    )
    return pl.concat([flagged.filter(~pl.col("is_repeated")), latest]).drop("is_repeated")


def clean_orders(raw_orders: pl.DataFrame, *, today: dt.date, counted_statuses: list[str]) -> pl.LazyFrame:
    """Counted orders, one row per order_id, with the customer, the order date and net revenue."""
    # Statuses are few: normalise the distinct raw values, then keep the rows holding a counted one.
    counted_raw = (
        raw_orders.lazy().select(pl.col("status").unique())
        .filter(_normalised("status").is_in(counted_statuses))
    )
    refunded = pl.col("refunded_amount").fill_null(0)
    return (
        latest_versions(raw_orders.lazy())
        .join(counted_raw, on="status", how="semi")
        .filter(
            pl.col("customer_id").is_not_null(),
            pl.col("ordered_at").is_not_null(),
            pl.col("ordered_at").dt.date() <= today,
            pl.col("amount") >= 0,
            refunded >= 0,
        )
        .select(
            "customer_id",
            pl.col("ordered_at").dt.date().alias("order_date"),
            pl.max_horizontal(pl.col("amount") - refunded, 0).cast(pl.Float64).alias("net_revenue"),
        )
    )


def period_spine(first_day: dt.date, as_of: dt.date, period: str) -> pl.DataFrame:
    """Every period from the first order's to the as-of date's, numbered from 0."""
    interval = INTERVALS[period]
    first_start = pl.select(pl.lit(first_day).dt.truncate(interval)).item()
    return (
        pl.DataFrame({"period_start": pl.date_range(first_start, as_of, interval, eager=True)})
        .with_row_index("period_index")
        .with_columns(period_end=pl.col("period_start").dt.offset_by(interval) - ONE_DAY)
        .with_columns(
            is_complete_period=pl.col("period_end") <= as_of,
            # The day a period is measured on: its last day, or the as-of date for the current one.
            closing_date=pl.min_horizontal("period_end", pl.lit(as_of)),
            day_before=pl.col("period_start") - ONE_DAY,
        )
    )


def spells(orders: pl.LazyFrame, window_days: int, as_of: dt.date, period: str) -> pl.LazyFrame:
    """SPEC section 3: a customer's order days merge into spells [first order, last order + W)."""
    interval = INTERVALS[period]
    previous_customer = pl.col("customer_id").shift(1)
    previous_day = pl.col("order_date").shift(1)
    is_same_customer = previous_customer.is_not_null() & (previous_customer == pl.col("customer_id"))
    opens_spell = ~is_same_customer | (pl.col("order_date") - previous_day >= pl.duration(days=window_days))
    return (
        orders.select("customer_id", "order_date")
        .sort("customer_id", "order_date")
        .with_columns(spell=opens_spell.cum_sum(), is_reactivation=opens_spell & is_same_customer)
        .group_by("spell")
        .agg(
            pl.col("customer_id").first(),
            pl.col("order_date").min().alias("started_on"),
            (pl.col("order_date").max() + pl.duration(days=window_days)).alias("ends_on"),
            pl.col("is_reactivation").any(),
        )
        .with_columns(
            started_period=pl.col("started_on").dt.truncate(interval),
            ended_period=pl.col("ends_on").dt.truncate(interval),
            is_churned=pl.col("ends_on") <= as_of,
        )
    )


def retention(orders: pl.LazyFrame, spine: pl.DataFrame, as_of: dt.date, window_days: int,
              period: str) -> pl.DataFrame:
    """S, N, R, C, E and retained per period, from counts of spell starts and ends.

    Active on day d = spells started on or before d minus spells ended on or before d, so
    S = the running sum of N + R - C over earlier periods and E = S + N + R - C. Retained
    customers are active on the day before the period and on its closing day: those whose spell
    covers both (S, less the spells that end in the period, plus those of them that also started
    in it), and those whose spell covering the day before ends in the period and whose later
    spell, a reactivation in the period, is still open on the closing day.
    """
    spell_table = spells(orders, window_days, as_of, period).collect().lazy()
    starts = (
        spell_table.group_by("started_period")
        .agg(new_customers=(~pl.col("is_reactivation")).sum(), reactivated_customers=pl.col("is_reactivation").sum())
        .rename({"started_period": "period_start"})
    )
    churned = spell_table.filter("is_churned")
    ends = (
        churned.group_by("ended_period")
        .agg(churned_customers=pl.len(),
             started_and_churned=(pl.col("started_period") == pl.col("ended_period")).sum())
        .rename({"ended_period": "period_start"})
    )
    # A reactivation still open on its period's closing day, whose customer has an earlier spell
    # covering the day before the period (a customer's spells never overlap: at most one does).
    rejoined = (
        spell_table.filter("is_reactivation")
        .join(spine.lazy().select(pl.col("period_start").alias("started_period"), "closing_date", "day_before"),
              on="started_period")
        .filter(pl.col("ends_on") > pl.col("closing_date"))
        .join(spell_table.select("customer_id", before_started_on="started_on", before_ends_on="ends_on"),
              on="customer_id")
        .filter(pl.col("before_started_on") <= pl.col("day_before"), pl.col("before_ends_on") > pl.col("day_before"))
        .group_by("started_period")
        .agg(retained_across_spells=pl.len())
        .rename({"started_period": "period_start"})
    )
    counts = ["new_customers", "reactivated_customers", "churned_customers", "started_and_churned",
              "retained_across_spells"]
    net_change = pl.col("new_customers") + pl.col("reactivated_customers") - pl.col("churned_customers")
    at_start = pl.col("customers_at_start")
    return (
        spine.lazy()
        .join(starts, on="period_start", how="left")
        .join(ends, on="period_start", how="left")
        .join(rejoined, on="period_start", how="left")
        .with_columns(pl.col(counts).fill_null(0).cast(pl.Int64))
        .sort("period_start")
        .with_columns(customers_at_start=net_change.cum_sum().shift(1, fill_value=0))
        .with_columns(
            customers_at_end=at_start + net_change,
            retained_customers=at_start - pl.col("churned_customers") + pl.col("started_and_churned")
            + pl.col("retained_across_spells"),
        )
        .with_columns(
            retention_rate=_rate(pl.col("customers_at_end") - pl.col("new_customers"), "customers_at_start"),
            churn_rate=_rate("churned_customers", "customers_at_start"),
            survival_rate=_rate("retained_customers", "customers_at_start"),
        )
        .select("period_start", "period_end", "is_complete_period", "customers_at_start", "new_customers",
                "reactivated_customers", "churned_customers", "customers_at_end", "retained_customers",
                "retention_rate", "churn_rate", "survival_rate")
        .collect()
    )


def customer_periods(orders: pl.LazyFrame, period: str) -> pl.LazyFrame:
    """One row per customer and period with a counted order, with the customer's cohort period."""
    return (
        orders.group_by("customer_id", pl.col("order_date").dt.truncate(INTERVALS[period]).alias("period_start"))
        .agg(orders=pl.len(), revenue=pl.col("net_revenue").sum())
        .with_columns(cohort_period=pl.col("period_start").min().over("customer_id"))
    )


def cohort_retention(periods: pl.LazyFrame, spine: pl.DataFrame) -> pl.DataFrame:
    activity = periods.group_by("cohort_period", "period_start").agg(
        active_customers=pl.len(), orders=pl.col("orders").sum(), revenue=pl.col("revenue").sum())
    sizes = (
        activity.filter(pl.col("period_start") == pl.col("cohort_period"))
        .select("cohort_period", cohort_size=pl.col("active_customers"))
    )
    cohort_index = spine.lazy().select(cohort_period="period_start", cohort_index="period_index")
    # Every (cohort, k) cell up to the as-of period, zeros included.
    cells = (
        sizes.join(cohort_index, on="cohort_period")
        .join(spine.lazy().select("period_start", "period_index", "is_complete_period"), how="cross")
        .filter(pl.col("period_index") >= pl.col("cohort_index"))
    )
    return (
        cells.join(activity, on=["cohort_period", "period_start"], how="left")
        .with_columns(pl.col("active_customers", "orders").fill_null(0), pl.col("revenue").fill_null(0.0))
        .sort("cohort_period", "period_start")
        .select(
            "cohort_period",
            periods_since_acquisition=pl.col("period_index").cast(pl.Int64) - pl.col("cohort_index").cast(pl.Int64),
            period_start="period_start",
            is_complete_period="is_complete_period",
            cohort_size="cohort_size",
            active_customers="active_customers",
            retention_rate=pl.col("active_customers") / pl.col("cohort_size"),
            orders="orders",
            revenue="revenue",
            cumulative_revenue_per_customer=pl.col("revenue").cum_sum().over("cohort_period") / pl.col("cohort_size"),
        )
        .collect()
    )


def _per_period(periods: pl.LazyFrame, spine: pl.DataFrame, aggregations: dict[str, pl.Expr]) -> pl.LazyFrame:
    """Sums per period for every period of the spine, zeros where no customer ordered."""
    sums = periods.group_by("period_start").agg(**aggregations)
    return (
        spine.lazy().select("period_start", "period_end", "is_complete_period")
        .join(sums, on="period_start", how="left")
        .with_columns(pl.col(list(aggregations)).fill_null(0))
        .sort("period_start")
    )


def repeat_rate(periods: pl.LazyFrame, spine: pl.DataFrame) -> pl.DataFrame:
    return (
        _per_period(periods, spine, {
            "customers": pl.len(),
            "orders": pl.col("orders").sum(),
            "repeat_customers": (pl.col("orders") >= 2).sum(),
            "returning_customers": (pl.col("cohort_period") < pl.col("period_start")).sum(),
        })
        .with_columns(
            repeat_customer_rate=_rate("repeat_customers", "customers"),
            returning_customer_rate=_rate("returning_customers", "customers"),
            purchase_frequency=_rate("orders", "customers"),
        )
        .collect()
    )


def aov(periods: pl.LazyFrame, spine: pl.DataFrame) -> pl.DataFrame:
    is_new = pl.col("cohort_period") == pl.col("period_start")
    return (
        _per_period(periods, spine, {
            "orders": pl.col("orders").sum(),
            "revenue": pl.col("revenue").sum(),
            "new_customer_orders": pl.col("orders").filter(is_new).sum(),
            "new_customer_revenue": pl.col("revenue").filter(is_new).sum(),
        })
        .with_columns(
            returning_customer_orders=pl.col("orders") - pl.col("new_customer_orders"),
            returning_customer_revenue=pl.col("revenue") - pl.col("new_customer_revenue"),
        )
        .with_columns(
            aov=_rate("revenue", "orders"),
            new_customer_aov=_rate("new_customer_revenue", "new_customer_orders"),
            returning_customer_aov=_rate("returning_customer_revenue", "returning_customer_orders"),
        )
        .collect()
    )


def clv(periods: pl.LazyFrame, raw_customers: pl.DataFrame, raw_spend: pl.DataFrame | None, *,
        today: dt.date, period: str) -> pl.DataFrame:
    totals = periods.group_by("customer_id").agg(
        cohort_period=pl.col("cohort_period").first(), historical_clv=pl.col("revenue").sum())
    # A customer's latest row by updated_at gives the channel; guests have none.
    channels = (
        raw_customers.lazy().filter(pl.col("customer_id").is_not_null())
        .sort("updated_at", nulls_last=False, maintain_order=True)
        .unique("customer_id", keep="last")
        .select("customer_id", acquisition_channel=_normalised("acquisition_channel"))
    )
    table = totals.join(channels, on="customer_id", how="left")
    if raw_spend is None:
        table = table.with_columns(acquisition_cost=pl.lit(None, dtype=pl.Float64))
    else:
        spend = (
            raw_spend.lazy()
            .with_columns(channel=_normalised("channel"))
            .filter(pl.col("spent_on") <= today, pl.col("channel").is_not_null(), pl.col("amount") >= 0)
            .group_by(pl.col("channel").alias("acquisition_channel"),
                      pl.col("spent_on").dt.truncate(INTERVALS[period]).alias("cohort_period"))
            .agg(spend=pl.col("amount").sum().cast(pl.Float64))
        )
        acquired = table.group_by("acquisition_channel", "cohort_period").agg(acquired=pl.len())
        costs = spend.join(acquired, on=["acquisition_channel", "cohort_period"]).select(
            "acquisition_channel", "cohort_period", acquisition_cost=pl.col("spend") / pl.col("acquired"))
        table = table.join(costs, on=["acquisition_channel", "cohort_period"], how="left")
    return (
        table.with_columns(net_clv=pl.col("historical_clv") - pl.col("acquisition_cost"))
        .select("customer_id", "cohort_period", "acquisition_channel", "historical_clv",
                "acquisition_cost", "net_clv")
        .collect()
    )


def compute(frames: dict[str, pl.DataFrame], *, period: str = "month", window_days: int = 90,
            as_of: str | None = None, counted_statuses: list[str] | None = None,
            today: dt.date | None = None, timings: dict | None = None) -> dict[str, pl.DataFrame]:
    """The peer's tables, keyed by the mart each one matches."""
    lap = Laps(timings).lap
    today = today or dt.datetime.now(dt.timezone.utc).date()
    orders = clean_orders(frames["orders"], today=today, counted_statuses=counted_statuses or COUNTED_STATUSES)
    as_of_date = dt.date.fromisoformat(as_of) if as_of else None
    if as_of_date is not None:
        orders = orders.filter(pl.col("order_date") <= as_of_date)
    orders = orders.collect()
    first_day, last_day = orders.select(first=pl.col("order_date").min(), last=pl.col("order_date").max()).row(0)
    if as_of_date is None:
        as_of_date = last_day
    orders = orders.lazy()
    spine = period_spine(first_day, as_of_date, period)
    lap("clean")
    tables = {"crm__retention": retention(orders, spine, as_of_date, window_days, period)}
    lap("retention")
    periods = customer_periods(orders, period).collect().lazy()
    tables["crm__cohort_retention"] = cohort_retention(periods, spine)
    tables["crm__repeat_rate"] = repeat_rate(periods, spine)
    tables["crm__aov"] = aov(periods, spine)
    lap("cohorts_repeat_aov")
    tables["crm__clv"] = clv(periods, frames["customers"], frames.get("spend"), today=today, period=period)
    lap("clv")
    return tables


if __name__ == "__main__":
    run_in_memory_peer("The polars peer of the crm_retention marts.", load, compute)
