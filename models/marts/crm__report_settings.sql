{#-
    One row: the settings the marts were built with (the as-of date, the period grain, the churn
    window, the at-risk threshold, the reporting currency and the rejected-share guards), so a
    dashboard or report shows them beside the numbers instead of guessing them from the data.
-#}
{%- set period = crm_retention.get_period() -%}
{%- set window_days = crm_retention.get_churn_window_days() -%}
{%- set at_risk_days = crm_retention.get_at_risk_days() -%}
{%- set reporting_currency = crm_retention.get_reporting_currency() -%}
{%- set shares = crm_retention.get_rejected_shares() -%}

with

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

final as (

    select
        as_of.as_of_date,
        as_of.first_order_date,
        cast('{{ period }}' as {{ dbt.type_string() }}) as period_grain,
        cast({{ window_days }} as {{ dbt.type_bigint() }}) as churn_window_days,
        cast({{ at_risk_days }} as {{ dbt.type_bigint() }}) as at_risk_days,
        cast({{ "'" ~ reporting_currency ~ "'" if reporting_currency else 'null' }} as {{ dbt.type_string() }}) as reporting_currency,
        cast({{ shares.warn }} as {{ crm_retention.type_rate() }}) as rejected_share_warn,
        cast({{ shares.error }} as {{ crm_retention.type_rate() }}) as rejected_share_error
    from as_of

)

select * from final
