{#-
    The staged lines of the staged orders (crm_orders_grain: line; disabled at order grain), with
    what each line bought: `product_id` and `product_category`, optional raw columns read as
    trimmed text (null without them). stg_crm__orders sums the same lines to orders; this model
    keeps them apart for the first-product cohorts (int_crm__customer_first_products).
-#}
{{ config(enabled=crm_retention.get_orders_grain() == 'line') }}

with

order_lines as (

    select * from {{ ref('base_crm__orders') }}
    where rejection_reason is null

),

final as (

    select
        order_id,
        line_id,
        customer_id,
        ordered_at,
        order_date,
        product_id,
        product_category,
        amount
    from order_lines

)

select * from final
