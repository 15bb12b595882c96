{#-
    What each customer bought first (docs/definitions.md "First-product cohorts"), in the shape
    of int_crm__customer_segments so the cohort marts' segmented SQL runs on it unchanged: two
    rows per customer with a counted order, segment_name `product_category` and `product_id`.
    The first order is the customer's earliest counted order (ordered_at, then order_id); its
    first product is its line with the largest amount (then the smallest product_id, category
    and line_id). The crm_first_product_top_n products with the most customers acquired on
    them keep their own value, the others are 'other'; no product or category is 'unknown'.
-#}
{{ config(enabled=crm_retention.get_orders_grain() == 'line') }}
{%- set top_n = crm_retention.get_first_product_top_n() %}

with

orders as (

    select * from {{ ref('int_crm__orders') }}

),

order_lines as (

    select * from {{ ref('stg_crm__order_lines') }}

),

first_orders as (

    select
        order_id,
        customer_id
    from (
        select
            order_id,
            customer_id,
            row_number() over (partition by customer_id order by ordered_at, order_id) as order_rank
        from orders
    ) as ranked_orders
    where order_rank = 1

),

first_products as (

    select
        customer_id,
        product_id,
        product_category
    from (
        select
            first_orders.customer_id,
            order_lines.product_id,
            order_lines.product_category,
            row_number() over (
                partition by first_orders.customer_id
                order by
                    order_lines.amount desc,
                    order_lines.product_id nulls last,
                    order_lines.product_category nulls last,
                    order_lines.line_id nulls last
            ) as line_rank
        from first_orders
        inner join order_lines
            on first_orders.order_id = order_lines.order_id
    ) as ranked_lines
    where line_rank = 1

),

-- Ties in customers go to the smaller product_id, so every engine keeps the same products.
top_products as (

    select product_id
    from (
        select
            product_id,
            row_number() over (order by count(*) desc, product_id) as product_rank
        from first_products
        where product_id is not null
        group by product_id
    ) as ranked_products
    where product_rank <= {{ top_n }}

),

final as (

    select
        first_products.customer_id,
        cast('product_category' as {{ dbt.type_string() }}) as segment_name,
        coalesce(first_products.product_category, {{ crm_retention.unknown_segment_value() }}) as segment_value
    from first_products
    union all
    select
        first_products.customer_id,
        cast('product_id' as {{ dbt.type_string() }}) as segment_name,
        case
            when first_products.product_id is null then {{ crm_retention.unknown_segment_value() }}
            when top_products.product_id is not null then first_products.product_id
            else 'other'
        end as segment_value
    from first_products
    left join top_products
        on first_products.product_id = top_products.product_id

)

select * from final
