{#-
    How soon customers place a second order (docs/definitions.md "Time to second order"): per
    curve of crm__time_to_second_order (overall, each cohort, each segment value), the customers,
    those who reordered by the as-of date, the median days to the second order and the share
    reordering within 30, 60 and 90 days. A share counts only the customers whose first order is
    at least that many days before the as-of date, so a customer who might still reorder in time
    is not counted as one who did not. The median is read from the curve (a roll-up, like
    crm__kpis): the first duration where the Kaplan-Meier estimate is at most one half.
-#}
{{ crm_retention.as_of_step() }}
{%- set segments = crm_retention.get_segments() -%}
{%- set windows = [30, 60, 90] -%}
{%- set curve = ['curve', 'cohort_period', 'segment_name', 'segment_value'] %}

with

observations as (

    select * from {{ ref('int_crm__customer_second_orders') }}

),

{% if segments -%}
segments as (

    select * from {{ ref('int_crm__customer_segments') }}

),
{%- endif %}

time_to_second_order as (

    select * from {{ ref('crm__time_to_second_order') }}

),

-- Each customer once per curve, with what the shares need.
curve_observations as (
    {{ crm_retention.survival_curves('observations', 'segments' if segments else none, ['days_observed']) }}
),

counts as (

    select
        {{ curve | join(', ') }},
        count(*) as customers,
        sum(case when is_event then 1 else 0 end) as reordered_customers,
        {%- for days in windows %}
        sum(case when days_observed >= {{ days }} then 1 else 0 end) as customers_observed_{{ days }}d,
        sum(case when days_observed >= {{ days }} and is_event and duration_days <= {{ days }} then 1 else 0 end) as reordered_within_{{ days }}d{% if not loop.last %},{% endif %}
        {%- endfor %}
    from curve_observations
    group by {{ curve | join(', ') }}

),

-- A product of fractions that is exactly one half may come out a hair above it in floating point.
medians as (

    select
        {{ curve | join(', ') }},
        min(days_since_first_order) as median_days_to_second_order
    from time_to_second_order
    where survival_rate <= 0.5 + 1e-12
    group by {{ curve | join(', ') }}

),

final as (

    select
        counts.curve,
        counts.cohort_period,
        counts.segment_name,
        counts.segment_value,
        cast(counts.customers as {{ dbt.type_bigint() }}) as customers,
        cast(counts.reordered_customers as {{ dbt.type_bigint() }}) as reordered_customers,
        cast(medians.median_days_to_second_order as {{ dbt.type_bigint() }}) as median_days_to_second_order,
        cast(counts.customers_observed_30d as {{ dbt.type_bigint() }}) as customers_observed_30d,
        cast(counts.reordered_within_30d as {{ dbt.type_bigint() }}) as reordered_within_30d,
        {{ crm_retention.safe_divide('counts.reordered_within_30d', 'counts.customers_observed_30d') }} as reorder_rate_30d,
        cast(counts.customers_observed_60d as {{ dbt.type_bigint() }}) as customers_observed_60d,
        cast(counts.reordered_within_60d as {{ dbt.type_bigint() }}) as reordered_within_60d,
        {{ crm_retention.safe_divide('counts.reordered_within_60d', 'counts.customers_observed_60d') }} as reorder_rate_60d,
        cast(counts.customers_observed_90d as {{ dbt.type_bigint() }}) as customers_observed_90d,
        cast(counts.reordered_within_90d as {{ dbt.type_bigint() }}) as reordered_within_90d,
        {{ crm_retention.safe_divide('counts.reordered_within_90d', 'counts.customers_observed_90d') }} as reorder_rate_90d
    from counts
    left join medians
        on
            counts.curve = medians.curve
            {%- for column in curve[1:] %}
            and (counts.{{ column }} = medians.{{ column }} or (counts.{{ column }} is null and medians.{{ column }} is null))
            {%- endfor %}

)

select * from final
