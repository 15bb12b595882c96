-- The DuckDB program: the retention, cohort, repeat-rate, AOV and CLV tables in one sequence of
-- `create table ... as` statements, run in order in one connection by benchmarks/duckdb_program.py,
-- which fills in the placeholders (names and values) and times each statement (a statement ends
-- with the line that ends in `;`). The five result tables go into the output schema of the
-- benchmark's DuckDB file, as the marts do; the steps before them keep their tables in memory.
-- The cleaning is the pandas and polars peers' (see benchmarks/polars_peer.py). DuckDB-only SQL:
-- this is a yardstick, not part of the package.

-- Order ids with more than one raw row: only their rows need ranking. Grouping the ids' 64-bit
-- hashes is cheaper than grouping the text; a collision only sends a few more rows to the ranking,
-- which partitions by the id itself.
create or replace temp table repeated_order_hashes as
select hash(order_id) as order_hash
from ${raw_orders}
where order_id is not null
group by hash(order_id)
having count(*) > 1;

-- Counted orders, one row per order id (its latest version), with the order date and net revenue.
-- The steps' own tables are temporary (in memory); the five result tables are written to the file.
create or replace temp table orders as
with latest_versions as (
    select customer_id, ordered_at, status, amount, refunded_amount
    from ${raw_orders}
    where order_id is not null and hash(order_id) not in (select order_hash from repeated_order_hashes)
    union all
    select customer_id, ordered_at, status, amount, refunded_amount
    from ${raw_orders}
    where order_id is not null and hash(order_id) in (select order_hash from repeated_order_hashes)
    qualify row_number() over (
        partition by order_id order by updated_at desc nulls last, ordered_at desc nulls last
    ) = 1
),
-- Statuses are few: normalise the distinct raw values, not every row.
counted_statuses as (
    select status
    from (select distinct status from ${raw_orders}) as statuses
    where lower(trim(status)) in (${counted_statuses})
)
select
    customer_id,
    cast(ordered_at as date) as order_date,
    greatest(amount - coalesce(refunded_amount, 0), 0) as net_revenue
from latest_versions
where
    customer_id is not null
    and ordered_at is not null
    and cast(ordered_at as date) <= ${today}
    ${as_of_filter}
    and status in (select status from counted_statuses)
    and amount >= 0
    and coalesce(refunded_amount, 0) >= 0;

-- Every period from the first order's to the as-of date's (the latest order date by default).
create or replace temp table period_spine as
with bounds as (
    select
        cast(date_trunc('${period}', min(order_date)) as date) as first_period_start,
        ${as_of_date} as as_of_date
    from orders
),
starts as (
    select
        cast(unnest(generate_series(
            cast(first_period_start as timestamp), cast(as_of_date as timestamp), interval ${step}
        )) as date) as period_start,
        as_of_date
    from bounds
),
periods as (
    select
        period_start,
        cast(period_start + interval ${step} as date) - 1 as period_end,
        as_of_date
    from starts
)
select
    row_number() over (order by period_start) - 1 as period_index,
    period_start,
    period_end,
    period_end <= as_of_date as is_complete_period,
    -- The day a period is measured on: its last day, or the as-of date for the current one.
    least(period_end, as_of_date) as closing_date,
    as_of_date
from periods;

-- Spells (SPEC section 3): a customer's orders less than W days apart merge into
-- [first order, last order + W). One sort of the orders gives each order its neighbours; the
-- orders that open or close a spell are few, and pairing them needs only a small second sort.
create or replace temp table spells as
with neighbours as (
    select
        customer_id,
        order_date,
        lag(order_date) over by_customer as previous_order_date,
        lead(order_date) over by_customer as next_order_date
    from orders
    window by_customer as (partition by customer_id order by order_date)
),
edges as (
    select
        customer_id,
        order_date,
        previous_order_date is not null as is_reactivation,
        previous_order_date is null or order_date - previous_order_date >= ${window_days} as opens_spell,
        next_order_date is null or next_order_date - order_date >= ${window_days} as closes_spell
    from neighbours
    where
        previous_order_date is null or order_date - previous_order_date >= ${window_days}
        or next_order_date is null or next_order_date - order_date >= ${window_days}
),
paired as (
    select
        customer_id,
        order_date as started_on,
        is_reactivation,
        opens_spell,
        case
            when closes_spell then order_date
            else lead(order_date) over (partition by customer_id order by order_date)
        end as last_order_date
    from edges
)
select
    paired.customer_id,
    paired.started_on,
    paired.last_order_date + ${window_days} as ends_on,
    paired.is_reactivation,
    cast(date_trunc('${period}', paired.started_on) as date) as started_period,
    cast(date_trunc('${period}', paired.last_order_date + ${window_days}) as date) as ended_period,
    paired.last_order_date + ${window_days} <= spine.as_of_date as is_churned
from paired
cross join (select max(as_of_date) as as_of_date from period_spine) as spine
where paired.opens_spell;

-- S, N, R, C, E and retained per period. Active on day d = spells started by d - spells ended
-- by d, so S is the running sum of N + R - C over earlier periods and E = S + N + R - C.
-- Retained customers are active on the day before the period and on its closing day: those whose
-- spell covers both (S less the spells ending in the period, plus those of them that also started
-- in it), and those whose earlier spell covers the day before and whose reactivation in the
-- period is still open on the closing day.
create or replace table ${out}.retention as
with starts as (
    select
        started_period as period_start,
        count(*) filter (where not is_reactivation) as new_customers,
        count(*) filter (where is_reactivation) as reactivated_customers
    from spells
    group by started_period
),
ends as (
    select
        ended_period as period_start,
        count(*) as churned_customers,
        count(*) filter (where started_period = ended_period) as started_and_churned
    from spells
    where is_churned
    group by ended_period
),
rejoined as (
    select
        reactivation.started_period as period_start,
        count(*) as retained_across_spells
    from spells as reactivation
    inner join period_spine as spine on reactivation.started_period = spine.period_start
    inner join spells as earlier
        on
            earlier.customer_id = reactivation.customer_id
            and earlier.started_on <= spine.period_start - 1
            and earlier.ends_on > spine.period_start - 1
    where reactivation.is_reactivation and reactivation.ends_on > spine.closing_date
    group by reactivation.started_period
),
counts as (
    select
        spine.period_start,
        spine.period_end,
        spine.is_complete_period,
        coalesce(starts.new_customers, 0) as new_customers,
        coalesce(starts.reactivated_customers, 0) as reactivated_customers,
        coalesce(ends.churned_customers, 0) as churned_customers,
        coalesce(ends.started_and_churned, 0) as started_and_churned,
        coalesce(rejoined.retained_across_spells, 0) as retained_across_spells
    from period_spine as spine
    left join starts on spine.period_start = starts.period_start
    left join ends on spine.period_start = ends.period_start
    left join rejoined on spine.period_start = rejoined.period_start
),
running as (
    select
        *,
        cast(coalesce(sum(new_customers + reactivated_customers - churned_customers) over (
            order by period_start rows between unbounded preceding and 1 preceding
        ), 0) as bigint) as customers_at_start
    from counts
),
final as (
    select
        period_start,
        period_end,
        is_complete_period,
        customers_at_start,
        new_customers,
        reactivated_customers,
        churned_customers,
        customers_at_start + new_customers + reactivated_customers - churned_customers as customers_at_end,
        customers_at_start - churned_customers + started_and_churned + retained_across_spells
            as retained_customers
    from running
)
select
    *,
    (customers_at_end - new_customers) / nullif(customers_at_start, 0) as retention_rate,
    churned_customers / nullif(customers_at_start, 0) as churn_rate,
    retained_customers / nullif(customers_at_start, 0) as survival_rate
from final
order by period_start;

-- One row per customer with a counted order: cohort and historical CLV.
create or replace temp table customers as
select
    customer_id,
    cast(date_trunc('${period}', min(order_date)) as date) as cohort_period,
    sum(net_revenue) as historical_clv
from orders
group by customer_id;

-- One row per customer and period with a counted order, with the customer's cohort.
create or replace temp table customer_periods as
with grouped as (
    select
        customer_id,
        cast(date_trunc('${period}', order_date) as date) as period_start,
        count(*) as orders,
        sum(net_revenue) as revenue
    from orders
    group by all
)
select
    grouped.*,
    customers.cohort_period
from grouped
inner join customers as customers on grouped.customer_id = customers.customer_id;

-- Every (cohort, k) cell up to the as-of period, zeros included.
create or replace table ${out}.cohort_retention as
with activity as (
    select
        cohort_period,
        period_start,
        count(*) as active_customers,
        sum(orders) as orders,
        sum(revenue) as revenue
    from customer_periods
    group by all
),
cohorts as (
    select
        activity.cohort_period,
        activity.active_customers as cohort_size,
        spine.period_index as cohort_index
    from activity
    inner join period_spine as spine on activity.cohort_period = spine.period_start
    where activity.period_start = activity.cohort_period
),
cells as (
    select
        cohorts.cohort_period,
        spine.period_index - cohorts.cohort_index as periods_since_acquisition,
        spine.period_start,
        spine.is_complete_period,
        cohorts.cohort_size,
        coalesce(activity.active_customers, 0) as active_customers,
        coalesce(activity.orders, 0) as orders,
        coalesce(activity.revenue, 0) as revenue
    from cohorts
    inner join period_spine as spine on cohorts.cohort_index <= spine.period_index
    left join activity
        on cohorts.cohort_period = activity.cohort_period and spine.period_start = activity.period_start
)
select
    cohort_period,
    periods_since_acquisition,
    period_start,
    is_complete_period,
    cohort_size,
    active_customers,
    active_customers / cohort_size as retention_rate,
    orders,
    revenue,
    sum(revenue) over (partition by cohort_period order by period_start) / cohort_size
        as cumulative_revenue_per_customer
from cells
order by cohort_period, period_start;

create or replace table ${out}.repeat_rate as
with per_period as (
    select
        period_start,
        count(*) as customers,
        sum(orders) as orders,
        count(*) filter (where orders >= 2) as repeat_customers,
        count(*) filter (where cohort_period < period_start) as returning_customers
    from customer_periods
    group by period_start
),
final as (
    select
        spine.period_start,
        spine.period_end,
        spine.is_complete_period,
        coalesce(per_period.customers, 0) as customers,
        coalesce(per_period.orders, 0) as orders,
        coalesce(per_period.repeat_customers, 0) as repeat_customers,
        coalesce(per_period.returning_customers, 0) as returning_customers
    from period_spine as spine
    left join per_period on spine.period_start = per_period.period_start
)
select
    *,
    repeat_customers / nullif(customers, 0) as repeat_customer_rate,
    returning_customers / nullif(customers, 0) as returning_customer_rate,
    orders / nullif(customers, 0) as purchase_frequency
from final
order by period_start;

create or replace table ${out}.aov as
with per_period as (
    select
        period_start,
        sum(orders) as orders,
        sum(revenue) as revenue,
        coalesce(sum(orders) filter (where cohort_period = period_start), 0) as new_customer_orders,
        coalesce(sum(revenue) filter (where cohort_period = period_start), 0) as new_customer_revenue
    from customer_periods
    group by period_start
),
final as (
    select
        spine.period_start,
        spine.period_end,
        spine.is_complete_period,
        coalesce(per_period.orders, 0) as orders,
        coalesce(per_period.revenue, 0) as revenue,
        coalesce(per_period.new_customer_orders, 0) as new_customer_orders,
        coalesce(per_period.new_customer_revenue, 0) as new_customer_revenue
    from period_spine as spine
    left join per_period on spine.period_start = per_period.period_start
)
select
    *,
    orders - new_customer_orders as returning_customer_orders,
    revenue - new_customer_revenue as returning_customer_revenue,
    revenue / nullif(orders, 0) as aov,
    new_customer_revenue / nullif(new_customer_orders, 0) as new_customer_aov,
    (revenue - new_customer_revenue) / nullif(orders - new_customer_orders, 0) as returning_customer_aov
from final
order by period_start;

-- Acquisition cost: the channel's spend in the cohort period over the customers it acquired then.
create or replace table ${out}.clv as
with latest_customer_rows as (
    select
        customer_id,
        lower(trim(acquisition_channel)) as acquisition_channel
    from ${raw_customers}
    where customer_id is not null
    qualify row_number() over (partition by customer_id order by updated_at desc nulls last) = 1
),
customers as (
    select
        customers.customer_id,
        customers.cohort_period,
        latest_customer_rows.acquisition_channel,
        customers.historical_clv
    from customers as customers
    left join latest_customer_rows on customers.customer_id = latest_customer_rows.customer_id
),
spend as (
    select
        lower(trim(channel)) as acquisition_channel,
        cast(date_trunc('${period}', spent_on) as date) as cohort_period,
        sum(amount) as spend
    from ${raw_marketing_spend}
    where spent_on <= ${today} and channel is not null and amount >= 0
    group by all
),
acquired as (
    select
        acquisition_channel,
        cohort_period,
        count(*) as customers
    from customers
    group by all
),
costs as (
    select
        spend.acquisition_channel,
        spend.cohort_period,
        spend.spend / acquired.customers as acquisition_cost
    from spend
    inner join acquired
        on spend.acquisition_channel = acquired.acquisition_channel and spend.cohort_period = acquired.cohort_period
)
select
    customers.customer_id,
    customers.cohort_period,
    customers.acquisition_channel,
    customers.historical_clv,
    costs.acquisition_cost,
    customers.historical_clv - costs.acquisition_cost as net_clv
from customers
left join costs
    on customers.acquisition_channel = costs.acquisition_channel and customers.cohort_period = costs.cohort_period;
