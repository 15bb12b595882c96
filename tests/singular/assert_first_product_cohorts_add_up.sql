{#-
    The first-product cohorts break the cohorts down: for every cohort cell of
    crm__cohort_retention and both breakdowns (product_category, product_id), the values' cohort
    sizes, active and unbounded active customers, orders and revenue add up to the cell's.
    Returns each cell and breakdown where a sum differs or is missing. Runs at crm_orders_grain: line.
-#}
{{ config(enabled=crm_retention.get_orders_grain() == 'line') }}

with

cohort_retention as (

    select * from {{ ref('crm__cohort_retention') }}

),

by_first_product as (

    select * from {{ ref('crm__cohort_retention_by_first_product') }}

),

segment_names as (

    select 'product_category' as segment_name
    union all
    select 'product_id' as segment_name

),

cell_differences as (
    {{ crm_retention.cohort_cells_not_adding_up('cohort_retention', 'by_first_product', 'segment_names') }}
)

select * from cell_differences
