{#-
    crm__cohort_retention: no cell lies beyond the period that contains the as-of date, and every
    cohort has one cell for each period from its own to the as-of period (zeros included).
    Returns the offending cells, and the cohorts whose cell count is wrong.
-#}

with

cohort_retention as (

    select * from {{ ref('crm__cohort_retention') }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

spine as (

    select * from {{ ref('int_crm__period_spine') }}

),

cells_beyond_as_of as (

    select
        cohort_retention.cohort_period,
        cohort_retention.periods_since_acquisition,
        cohort_retention.period_start,
        'cell after the as-of period' as failure
    from cohort_retention
    cross join as_of
    where cohort_retention.period_start > {{ crm_retention.period_start('as_of.as_of_date') }}

),

cell_counts as (

    select
        cohort_period,
        count(*) as cells,
        max(periods_since_acquisition) as last_periods_since_acquisition
    from cohort_retention
    group by cohort_period

),

expected_counts as (

    select
        cohort_start.period_start as cohort_period,
        count(*) as cells
    from spine as cohort_start
    inner join spine as later_period
        on later_period.period_index >= cohort_start.period_index
    group by cohort_start.period_start

),

wrong_cell_counts as (

    select
        cell_counts.cohort_period,
        cell_counts.last_periods_since_acquisition as periods_since_acquisition,
        cast(null as date) as period_start,
        'cohort without one cell per period up to the as-of period' as failure
    from cell_counts
    left join expected_counts
        on cell_counts.cohort_period = expected_counts.cohort_period
    where
        expected_counts.cells is null
        or cell_counts.cells <> expected_counts.cells
        or cell_counts.last_periods_since_acquisition <> expected_counts.cells - 1

)

select * from cells_beyond_as_of
union all
select * from wrong_cell_counts
