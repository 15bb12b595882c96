{#-
    The customer profile behind crm__customers and crm__at_risk_customers.
    One row per customer: every staged customer and every guest with a staged order. Order
    figures, lifecycle and RFM are as of the as-of date and count counted orders only; customers
    without one have zero orders and null dates, lifecycle and scores.
-#}
{%- set window_days = crm_retention.get_churn_window_days() -%}
{%- set at_risk_days = crm_retention.get_at_risk_days() -%}
{%- set using_nps = crm_retention.get_flag('crm_using_nps', true) -%}

with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

orders as (

    select customer_id from {{ ref('base_crm__orders') }}
    where rejection_reason is null

),

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),

spells as (

    select * from {{ ref('int_crm__customer_spells') }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

ordering_customers as (

    select distinct customer_id
    from orders

),

guests as (

    select ordering_customers.customer_id
    from ordering_customers
    left join customers
        on ordering_customers.customer_id = customers.customer_id
    where customers.customer_id is null

),

everyone as (

    select
        customer_id,
        email,
        first_name,
        last_name,
        country,
        acquisition_channel,
        created_at,
        true as has_customer_record
    from customers

    union all

    select
        customer_id,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        cast(null as {{ dbt.type_string() }}) as country,
        cast(null as {{ dbt.type_string() }}) as acquisition_channel,
        cast(null as {{ dbt.type_timestamp() }}) as created_at,
        false as has_customer_record
    from guests

),

latest_spells as (

    select
        customer_id,
        spell_number,
        spell_started_on,
        spell_ends_on
    from spells
    where is_latest_spell

),

ordering as (

    select
        cohorts.customer_id,
        cohorts.cohort_period,
        cohorts.first_order_date,
        cohorts.last_order_date,
        cohorts.orders,
        cohorts.net_revenue,
        {{ crm_retention.days_between('cohorts.last_order_date', 'as_of.as_of_date') }} as days_since_last_order,
        latest_spells.spell_ends_on > as_of.as_of_date as is_active,
        latest_spells.spell_number,
        {{ crm_retention.days_between('latest_spells.spell_started_on', 'as_of.as_of_date') }} as days_since_spell_start
    from cohorts
    cross join as_of
    inner join latest_spells
        on cohorts.customer_id = latest_spells.customer_id

),

lifecycle as (

    select
        *,
        case
            when not is_active then 'churned'
            when days_since_last_order >= {{ at_risk_days }} then 'at_risk'
            when spell_number = 1 and days_since_spell_start < {{ window_days }} then 'new'
            when spell_number > 1 and days_since_spell_start < {{ window_days }} then 'reactivated'
            else 'active'
        end as lifecycle_status
    from ordering

),

-- Quintiles, 5 best; ties broken by customer_id so every engine ranks alike.
scored as (

    select
        *,
        ntile(5) over (order by days_since_last_order desc, customer_id) as recency_score,
        ntile(5) over (order by orders, customer_id) as frequency_score,
        ntile(5) over (order by net_revenue, customer_id) as monetary_score
    from lifecycle

),

{% if using_nps %}
nps as (

    select
        responses.customer_id,
        responses.score,
        responses.responded_at,
        row_number() over (
            partition by responses.customer_id
            order by responses.responded_at desc, responses.response_id desc
        ) as response_recency
    from {{ ref('stg_crm__nps_responses') }} as responses
    inner join as_of
        on responses.responded_on <= as_of.as_of_date

),
{% endif %}

final as (

    select
        everyone.customer_id,
        everyone.email,
        everyone.first_name,
        everyone.last_name,
        everyone.country,
        everyone.acquisition_channel,
        everyone.created_at,
        everyone.has_customer_record,
        scored.cohort_period,
        scored.first_order_date,
        scored.last_order_date,
        coalesce(scored.orders, 0) as orders,
        coalesce(scored.net_revenue, 0) as net_revenue,
        {{ crm_retention.safe_divide('scored.net_revenue', 'scored.orders') }} as aov,
        scored.days_since_last_order,
        coalesce(scored.is_active, false) as is_active,
        scored.lifecycle_status,
        coalesce(scored.lifecycle_status = 'at_risk', false) as is_at_risk,
        scored.recency_score,
        scored.frequency_score,
        scored.monetary_score,
        {{ dbt.concat([
            'cast(scored.recency_score as ' ~ dbt.type_string() ~ ')',
            'cast(scored.frequency_score as ' ~ dbt.type_string() ~ ')',
            'cast(scored.monetary_score as ' ~ dbt.type_string() ~ ')',
        ]) }} as rfm_score,
        {{ crm_retention.rfm_segment('scored.recency_score', 'scored.frequency_score', 'scored.monetary_score') }}
            as rfm_segment,
        {% if using_nps -%}
        nps.score as latest_nps_score,
        nps.responded_at as latest_nps_responded_at
        {%- else -%}
        cast(null as {{ dbt.type_int() }}) as latest_nps_score,
        cast(null as {{ dbt.type_timestamp() }}) as latest_nps_responded_at
        {%- endif %}
    from everyone
    left join scored
        on everyone.customer_id = scored.customer_id
    {% if using_nps -%}
    left join nps
        on
            everyone.customer_id = nps.customer_id
            and nps.response_recency = 1
    {%- endif %}

)

select * from final
