{#-
    Counted orders up to the as-of date: the only orders any metric sees. A view in full builds
    (its readers scan it once each); a table in incremental mode.
    Without crm_as_of_date the as-of date is the latest counted order date, so every counted order
    is on or before it and nothing is filtered: the model does not read int_crm__as_of, and an
    incremental run never keeps an order out because the as-of date it read was stale (a run of
    a subset of the models). A pinned date is a literal, recorded with the incremental tables.
-#}
{{ crm_retention.incremental_by_customer(settings=['orders', 'periods'], log='stg_crm__order_changes', full_build='view') }}
{%- set as_of_date = crm_retention.get_as_of_date() %}
{%- set by_person = crm_retention.get_identity() == 'email' %}

with

orders as (

    select * from {{ ref('stg_crm__orders') }}
    {{ crm_retention.changed_customers_only() }}

),
{%- if by_person %}

-- crm_identity: email: the person is the customer of every metric.
persons as (

    select * from {{ ref('int_crm__persons') }}

),
{%- endif %}

final as (

    select
        orders.order_id,
        {{ 'persons.person_id' if by_person else 'orders.customer_id' }} as customer_id,
        orders.ordered_at,
        orders.order_date,
        {{ crm_retention.period_start('orders.order_date') }} as period_start,
        orders.net_revenue
    from orders
    {%- if by_person %}
    inner join persons
        on orders.customer_id = persons.customer_id
    {%- endif %}
    where orders.is_counted{% if as_of_date %} and orders.order_date <= cast('{{ as_of_date }}' as date){% endif %}

)

select * from final
