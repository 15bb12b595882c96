{#-
    Acquisition cohorts by what the customers bought first (crm_orders_grain: line): one row per
    first product category (segment_name `product_category`) or first product (`product_id`,
    the top crm_first_product_top_n products, the others as 'other'), cohort and k. For every
    cell and segment name the values' cohort sizes, active customers, orders and revenue add up
    to crm__cohort_retention's. The SQL is crm__cohort_retention's, grouped by the first
    product: macros/retention_marts.sql.
-#}
{{ config(enabled=crm_retention.get_orders_grain() == 'line') }}

{{ crm_retention.cohort_retention_by_cell(segmented=true, segments_model='int_crm__customer_first_products') }}
