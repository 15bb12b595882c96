{#-
    Incremental mode: the customers whose raw order rows this run re-read, under their old and
    their new customer_id alike, so that a moved order is taken from one and given to the other.
    Outside incremental mode it is empty, and exists so that the customer-grain models (and
    their unit tests) have the same inputs in both modes.
-#}

with

orders as (

    select * from {{ ref('base_crm__orders') }}

),

final as (

    select distinct customer_id
    from orders
    where
        processed_at = {{ crm_retention.run_started_at_literal() }}
        and customer_id is not null
        {% if not crm_retention.is_incremental_mode() -%}
        and 1 = 0
        {%- endif %}

)

select * from final
