{#-
    One row per customer with a counted order: the purchase summaries of the predictive models as
    of the as-of date, in units of crm_clv_time_unit_days (int_crm__customer_purchase_summaries,
    plus customer_age from the first purchase day to the as-of date). A table in full builds; in
    incremental mode a view, so a run rewrites no customer row only because the date moved.
-#}
{{ crm_retention.as_of_step() }}
{%- set time_unit_days = crm_retention.get_clv_time_unit_days() -%}

with

summaries as (

    select * from {{ ref('int_crm__customer_purchase_summaries') }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

final as (

    select
        summaries.customer_id,
        summaries.first_purchase_date,
        summaries.last_purchase_date,
        summaries.frequency,
        cast(summaries.recency_days as {{ crm_retention.type_rate() }}) / {{ time_unit_days }} as recency,
        cast({{ crm_retention.days_between('summaries.first_purchase_date', 'as_of.as_of_date') }} as {{ crm_retention.type_rate() }})
        / {{ time_unit_days }} as customer_age,
        summaries.repeat_order_value
    from summaries
    cross join as_of

)

select * from final
