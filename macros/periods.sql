{#-
    The period grain of SPEC section 2. A period is [period_start, next period_start); weeks
    start on Monday on every supported engine (ISO weeks). All period logic goes through these
    macros so the grain is chosen in one place: the crm_period var.
-#}

{#- First day of the period that contains a date. -#}
{% macro period_start(date_expression, period=none) -%}
    {%- set grain = period or crm_retention.get_period() -%}
    {%- if grain == 'day' -%}
        cast({{ date_expression }} as date)
    {%- else -%}
        cast({{ dbt.date_trunc(grain, date_expression) }} as date)
    {%- endif -%}
{%- endmacro %}

{#- First day of the next period, from a period's first day. -#}
{% macro next_period_start(period_start_expression, period=none) -%}
    {%- set grain = period or crm_retention.get_period() -%}
    {%- if grain == 'week' -%}
        {{ crm_retention.add_days(period_start_expression, 7) }}
    {%- elif grain == 'day' -%}
        {{ crm_retention.add_days(period_start_expression, 1) }}
    {%- else -%}
        {{ crm_retention.add_months(period_start_expression, {'month': 1, 'quarter': 3, 'year': 12}[grain]) }}
    {%- endif -%}
{%- endmacro %}

{#- Last day of a period, from its first day. -#}
{% macro period_end(period_start_expression, period=none) -%}
    {{ crm_retention.add_days(crm_retention.next_period_start(period_start_expression, period), -1) }}
{%- endmacro %}

{#- Whole numbers 0 .. 10^digits - 1, from cross-joined digits: a spine without recursive SQL. -#}
{% macro integers(digits=5) -%}
    {%- for position in range(digits) %}
    {{ 'select' if loop.first else 'cross join' }}
    {%- if loop.first %}
        {% for other in range(digits) -%}
        digits_{{ other }}.digit{% if other > 0 %} * {{ 10 ** other }}{% endif %}{{ ' +' if not loop.last }}
        {% endfor -%}
        as n
    from
    {%- endif %}
        (
            {% for digit in range(10) -%}
            select {{ digit }} as digit{{ ' union all' if not loop.last }}
            {% endfor %}
        ) as digits_{{ position }}
    {%- endfor %}
{%- endmacro %}

{#-
    The period spine (int_crm__period_spine) at the crm_period grain, or at `period` (a coarser
    grain for crm__period_rollups): a with-statement, one row per period from the first counted
    order's period to the as-of period.
-#}
{% macro period_spine(period=none) %}
{#-
    The days between the two dates, bounded from the years alone (366 a year) so that no date
    module is needed: dbt-core 1.10's unit tests expose none to the Jinja context.
    The build year; dbt-core 1.10's unit tests have no run_started_at, and take the year 2100.
-#}
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

    select distinct {{ crm_retention.period_start('calendar_date', period) }} as period_start
    from days

),

final as (

    select
        periods.period_start,
        {{ crm_retention.period_end('periods.period_start', period) }} as period_end,
        {{ crm_retention.next_period_start('periods.period_start', period) }} as next_period_start,
        row_number() over (order by periods.period_start) - 1 as period_index,
        as_of.as_of_date,
        {{ crm_retention.period_end('periods.period_start', period) }} <= as_of.as_of_date as is_complete_period,
        -- The day a period is measured on: its last day, or the as-of date for the current one.
        case
            when {{ crm_retention.period_end('periods.period_start', period) }} <= as_of.as_of_date
                then {{ crm_retention.period_end('periods.period_start', period) }}
            else as_of.as_of_date
        end as closing_date
    from periods
    cross join as_of

)

select * from final
{% endmacro %}
