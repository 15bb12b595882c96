{#-
    Survival, repeat purchasing and revenue movements at the grains a crm_period adds up to
    (week, month, quarter and year for a daily build; quarter and year for a monthly one; year for
    a quarterly one): one row per grain and period. These figures compare each customer within or
    across the periods, so a quarter's cannot be summed from its months; each grain is built here
    from the customers' spells and orders with the same macros as crm__retention,
    crm__repeat_rate and crm__revenue_retention, over that grain's spine. Weeks straddle months,
    so a weekly build has none (nor a yearly one). The semantic layer reads this table for those
    figures at a coarser time grain (docs/bi.md, "Metrics"), so it is built with
    crm_using_semantic_layer only.
-#}
{{ config(enabled=var('crm_using_semantic_layer', false) | string | trim | lower == 'true') }}
{%- set period = crm_retention.get_period() -%}
{%- set rollup_grains = {
    'day': ['week', 'month', 'quarter', 'year'], 'month': ['quarter', 'year'], 'quarter': ['year']
}.get(period, []) -%}
{#- A weekly or yearly build has none: the year's rows are built and none is kept. -#}
{%- set grains = rollup_grains or ['year'] %}

with

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

orders as (

    select * from {{ ref('int_crm__orders') }}

),
{% for grain in grains %}

{{ grain }}_spine as (

    {{ crm_retention.period_spine(grain) }}

),

{{ grain }}_customer_periods as (

    {{ crm_retention.customer_periods('orders', grain) }}

),

{{ grain }}_retention as (

    {{ crm_retention.retention_by_period(period=grain, spine=grain ~ '_spine') }}

),

{{ grain }}_repeat_rate as (

    {{ crm_retention.repeat_rate_by_period(grain, grain ~ '_spine', grain ~ '_customer_periods') }}

),

{{ grain }}_revenue_retention as (

    {{ crm_retention.revenue_retention_by_period(grain, grain ~ '_spine', grain ~ '_customer_periods') }}

),

{%- set finer = ([period] + grains)[loop.index0] %}
{%- set start_marker = 'greatest(spine.period_start, ' ~ crm_retention.period_start('as_of.first_order_date') ~ ')' %}
{{ grain }}_rollup as (

    select
        cast('{{ grain }}' as {{ dbt.type_string() }}) as grain,
        retention.period_start,
        retention.period_end,
        retention.is_complete_period,
        -- The days the semantic layer counts the period's start and end on (docs/bi.md): its
        -- first day, or the first crm_period's when that is later (no data lie before it); the
        -- first day after the period of the next finer grain that holds that start, or its last
        -- day when that is earlier. A time bucket of the period holds both, one of a finer
        -- period only the start.
        {{ start_marker }} as start_marker_on,
        least(
            spine.period_end,
            {{ crm_retention.next_period_start(crm_retention.period_start(start_marker, finer), finer) }}
        ) as end_marker_on,
        retention.customers_at_start,
        retention.retained_customers,
        retention.survival_rate,
        repeat_rate.customers,
        repeat_rate.repeat_customers,
        repeat_rate.repeat_customer_rate,
        revenue_retention.starting_revenue,
        revenue_retention.new_revenue,
        revenue_retention.reactivated_revenue,
        revenue_retention.expansion_revenue,
        revenue_retention.contraction_revenue,
        revenue_retention.churned_revenue,
        revenue_retention.gross_revenue_retention,
        revenue_retention.net_revenue_retention,
        revenue_retention.revenue_churn_rate
    from {{ grain }}_spine as spine
    cross join as_of
    inner join {{ grain }}_retention as retention
        on spine.period_start = retention.period_start
    inner join {{ grain }}_repeat_rate as repeat_rate
        on retention.period_start = repeat_rate.period_start
    inner join {{ grain }}_revenue_retention as revenue_retention
        on retention.period_start = revenue_retention.period_start

),
{%- endfor %}

final as (

    {%- for grain in grains %}
    select * from {{ grain }}_rollup
    {%- if not rollup_grains %}
    where 1 = 0
    {%- endif %}
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}

)

select * from final
