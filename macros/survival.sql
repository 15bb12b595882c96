{#-
    The Kaplan-Meier estimator (docs/definitions.md "Survival curves"), as a select over a
    relation of observations: one row per customer and curve, with the curve's key columns,
    `duration_days` (days from the start to the event, or to the as-of date when censored) and
    `is_event`. One row per curve and distinct duration, events and censorings alike:

    - customers_at_risk: observations with duration_days >= this duration;
    - survival_rate: the product over durations up to this one of (1 - events / at risk),
      summed as logarithms, and 0 from the first duration where every customer at risk had the
      event (a logarithm of 0 is no number);
    - survival_lower / survival_upper: the 95% exponential Greenwood ("log(-log)") interval,
      S^exp(+-z * sqrt(g) / ln S) with g the Greenwood sum of events / (at risk x (at risk -
      events)) (a step where every customer at risk had the event adds nothing); 1 and 1 while
      S = 1, 0 and 0 once S = 0. The same interval as lifelines' KaplanMeierFitter.
-#}
{% macro kaplan_meier(observations, curve_columns) %}
{%- set curve = curve_columns | join(', ') -%}
{#- A 64-bit float: dbt.type_float() is a 32-bit one on DuckDB. -#}
{%- set float = crm_retention.type_rate() -%}
{#- The 97.5% quantile of the standard normal distribution, to double precision. -#}
{%- set z = '1.959963984540054' -%}
{%- set running = 'partition by ' ~ curve ~ ' order by duration_days rows between unbounded preceding and current row' %}
    select
        {{ curve }},
        duration_days,
        customers_at_risk,
        events,
        censored,
        case when exhausted_steps > 0 then 0 else exp(log_survival) end as survival_rate,
        case
            when exhausted_steps > 0 then 0
            when log_survival = 0 then 1
            else exp(log_survival * exp({{ z }} * sqrt(greenwood_sum) / (0 - log_survival)))
        end as survival_lower,
        case
            when exhausted_steps > 0 then 0
            when log_survival = 0 then 1
            else exp(log_survival * exp(0 - {{ z }} * sqrt(greenwood_sum) / (0 - log_survival)))
        end as survival_upper
    from (
        select
            *,
            sum(log_factor) over ({{ running }}) as log_survival,
            sum(is_exhausted) over ({{ running }}) as exhausted_steps,
            sum(greenwood_term) over ({{ running }}) as greenwood_sum
        from (
            select
                *,
                case
                    when events > 0 and events < customers_at_risk
                        then ln(cast(customers_at_risk - events as {{ float }})) - ln(cast(customers_at_risk as {{ float }}))
                    else 0
                end as log_factor,
                case when events > 0 and events = customers_at_risk then 1 else 0 end as is_exhausted,
                case
                    when events > 0 and events < customers_at_risk
                        then cast(events as {{ float }})
                        / (cast(customers_at_risk as {{ float }}) * cast(customers_at_risk - events as {{ float }}))
                    else 0
                end as greenwood_term
            from (
                select
                    *,
                    sum(events + censored) over (
                        partition by {{ curve }}
                        order by duration_days desc
                        rows between unbounded preceding and current row
                    ) as customers_at_risk
                from (
                    select
                        {{ curve }},
                        duration_days,
                        sum(case when is_event then 1 else 0 end) as events,
                        sum(case when is_event then 0 else 1 end) as censored
                    from {{ observations }}
                    group by {{ curve }}, duration_days
                ) as steps
            ) as at_risk
        ) as factors
    ) as cumulative
{% endmacro %}

{#-
    The curves an estimate is made for: every customer (curve 'overall'), each acquisition
    cohort ('cohort') and, with crm_segments, each segment value ('segment'). A select over a
    relation of one observation per customer (customer_id, cohort_period, duration_days,
    is_event, and the `extra_columns` it passes on) giving each observation once per curve it
    belongs to; `segments` names the customer-segments relation or is none.
-#}
{% macro survival_curves(observations, segments=none, extra_columns=[]) %}
{%- set string = dbt.type_string() -%}
{%- set passed_on = ['duration_days', 'is_event'] + extra_columns %}
    select
        cast('overall' as {{ string }}) as curve,
        cast(null as date) as cohort_period,
        cast(null as {{ string }}) as segment_name,
        cast(null as {{ string }}) as segment_value,
        {{ passed_on | join(', ') }}
    from {{ observations }}
    union all
    select
        cast('cohort' as {{ string }}) as curve,
        cohort_period,
        cast(null as {{ string }}) as segment_name,
        cast(null as {{ string }}) as segment_value,
        {{ passed_on | join(', ') }}
    from {{ observations }}
    {%- if segments %}
    union all
    select
        cast('segment' as {{ string }}) as curve,
        cast(null as date) as cohort_period,
        {{ segments }}.segment_name,
        {{ segments }}.segment_value,
        {{ observations }}.{{ passed_on | join(', ' ~ observations ~ '.') }}
    from {{ observations }}
    inner join {{ segments }}
        on {{ observations }}.customer_id = {{ segments }}.customer_id
    {%- endif %}
{% endmacro %}

{#-
    A survival mart (crm__survival, crm__time_to_second_order): the Kaplan-Meier estimate of
    every curve over the observations of `observations_model` (one row per customer:
    customer_id, cohort_period, duration_days, is_event), with the duration and the events
    named for the mart.
-#}
{% macro survival_mart(observations_model, days_column, events_column) %}
{%- set segments = crm_retention.get_segments() -%}
{%- set bigint = dbt.type_bigint() -%}
{%- set rate = crm_retention.type_rate() %}

with

observations as (

    select * from {{ ref(observations_model) }}

),

{% if segments -%}
segments as (

    select * from {{ ref('int_crm__customer_segments') }}

),
{%- endif %}

curves as (
    {{ crm_retention.survival_curves('observations', 'segments' if segments else none) }}
),

estimates as (
    {{ crm_retention.kaplan_meier('curves', ['curve', 'cohort_period', 'segment_name', 'segment_value']) }}
),

final as (

    select
        curve,
        cohort_period,
        segment_name,
        segment_value,
        cast(duration_days as {{ bigint }}) as {{ days_column }},
        cast(customers_at_risk as {{ bigint }}) as customers_at_risk,
        cast(events as {{ bigint }}) as {{ events_column }},
        cast(censored as {{ bigint }}) as censored_customers,
        cast(survival_rate as {{ rate }}) as survival_rate,
        cast(survival_lower as {{ rate }}) as survival_lower,
        cast(survival_upper as {{ rate }}) as survival_upper
    from estimates

)

select * from final
{% endmacro %}
