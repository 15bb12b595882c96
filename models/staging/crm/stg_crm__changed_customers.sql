{#-
    Incremental mode only (macros/incremental.sql): the customers whose raw order rows this run
    re-read, under their old and their new customer_id alike, so that a moved order is taken
    from one and given to the other. The customer-grain tables recompute exactly these.
-#}
{{ config(enabled=crm_retention.is_incremental_mode()) }}

with

order_rows as (

    select * from {{ ref('base_crm__orders') }}

),

final as (

    select distinct customer_id
    from order_rows
    where
        processed_at = {{ crm_retention.run_started_at_literal() }}
        and customer_id is not null

)

select * from final
