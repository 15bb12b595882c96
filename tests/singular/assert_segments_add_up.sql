{#-
    The segment marts break the whole down: for every period (or cohort cell) and segment name,
    the values' S, N, R, C, E, retained customers, orders and revenue (and per cohort cell the
    unbounded active customers) add up to the unsegmented marts', and every period of
    crm__retention appears under every segment name. Returns each
    period (or cell) and segment name where a sum differs or is missing. Runs when crm_segments
    is set.
-#}
{{ config(enabled=crm_retention.get_segments() | length > 0) }}

with

retention as (

    select * from {{ ref('crm__retention') }}

),

kpis as (

    select * from {{ ref('crm__kpis') }}

),

cohort_retention as (

    select * from {{ ref('crm__cohort_retention') }}

),

kpis_by_segment as (

    select * from {{ ref('crm__kpis_by_segment') }}

),

cohort_retention_by_segment as (

    select * from {{ ref('crm__cohort_retention_by_segment') }}

),

segment_names as (

    select distinct segment_name from {{ ref('int_crm__customer_segments') }}

),

-- crm__kpis_by_segment carries crm__retention_by_segment's counts as they are.
period_sums as (

    select
        period_start,
        segment_name,
        sum(customers_at_start) as customers_at_start,
        sum(new_customers) as new_customers,
        sum(reactivated_customers) as reactivated_customers,
        sum(churned_customers) as churned_customers,
        sum(customers_at_end) as customers_at_end,
        sum(retained_customers) as retained_customers,
        sum(orders) as orders,
        sum(revenue) as revenue
    from kpis_by_segment
    group by period_start, segment_name

),

period_differences as (

    select
        'period' as failed_grain,
        retention.period_start,
        segment_names.segment_name
    from retention
    cross join segment_names
    inner join kpis
        on retention.period_start = kpis.period_start
    left join period_sums
        on
            retention.period_start = period_sums.period_start
            and segment_names.segment_name = period_sums.segment_name
    where
        period_sums.period_start is null
        or period_sums.customers_at_start <> retention.customers_at_start
        or period_sums.new_customers <> retention.new_customers
        or period_sums.reactivated_customers <> retention.reactivated_customers
        or period_sums.churned_customers <> retention.churned_customers
        or period_sums.customers_at_end <> retention.customers_at_end
        or period_sums.retained_customers <> retention.retained_customers
        or period_sums.orders <> kpis.orders
        or period_sums.revenue <> kpis.revenue

),

-- Every cohort cell, under every segment name (macros/retention_marts.sql).
cell_differences as (
    {{ crm_retention.cohort_cells_not_adding_up('cohort_retention', 'cohort_retention_by_segment', 'segment_names') }}
)

select * from period_differences
union all
select * from cell_differences
