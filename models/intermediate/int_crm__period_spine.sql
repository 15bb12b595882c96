{#-
    One row per period from the first counted order's period to the as-of period, at the
    crm_period grain, with a 0-based period_index so "k periods later" is index arithmetic.
    No hidden cap: staging rejects order dates before crm_earliest_valid_date and after the
    build date, and the as-of date lies between them, so the days from the first order to the
    as-of date are fewer than the days from crm_earliest_valid_date to the build date, which
    fix how many digits the day numbers need.
-#}
{#-
    The days between the two dates, bounded from the years alone (366 a year) so that no date
    module is needed: dbt-core 1.10's unit tests expose none to the Jinja context.
-#}
{#- The build year; dbt-core 1.10's unit tests have no run_started_at, and take the year 2100. -#}
{%- set build_year = run_started_at.strftime('%Y') | int if run_started_at is defined and run_started_at else 2100 -%}
{#- The var as validated by validate_vars (YYYY-MM-DD), read directly for the same reason. -#}
{%- set earliest_year = ((var('crm_earliest_valid_date', none) or '1990-01-01') | string | trim)[:4] | int -%}
{%- set years = build_year - earliest_year + 1 -%}
{%- set digits = (years * 366) | string | length %}

with

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

integers as (

    {{ crm_retention.integers(digits) }}

),

days as (

    select {{ crm_retention.add_days('as_of.first_order_date', 'integers.n') }} as calendar_date
    from as_of
    inner join integers
        on integers.n <= {{ crm_retention.days_between('as_of.first_order_date', 'as_of.as_of_date') }}

),

periods as (

    select distinct {{ crm_retention.period_start('calendar_date') }} as period_start
    from days

),

final as (

    select
        periods.period_start,
        {{ crm_retention.period_end('periods.period_start') }} as period_end,
        {{ crm_retention.next_period_start('periods.period_start') }} as next_period_start,
        row_number() over (order by periods.period_start) - 1 as period_index,
        as_of.as_of_date,
        {{ crm_retention.period_end('periods.period_start') }} <= as_of.as_of_date as is_complete_period,
        -- The day a period is measured on: its last day, or the as-of date for the current one.
        case
            when {{ crm_retention.period_end('periods.period_start') }} <= as_of.as_of_date
                then {{ crm_retention.period_end('periods.period_start') }}
            else as_of.as_of_date
        end as closing_date
    from periods
    cross join as_of

)

select * from final
