{#-
    int_crm__as_of: exactly one row; its as-of date is set whenever a staged counted order
    exists, and the spine's first order date is not after it. Returns one row per broken rule.
-#}

with

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

counted_orders as (

    select count(*) as orders
    from {{ ref('stg_crm__orders') }}
    where status_class = 'counted'

),

rows_count as (

    select count(*) as as_of_rows
    from as_of

),

broken as (

    select {{ dbt.concat(["'as-of rows: '", 'cast(as_of_rows as ' ~ dbt.type_string() ~ ')']) }} as broken_rule
    from rows_count
    where as_of_rows <> 1

    union all

    select 'as_of_date is null although counted orders exist' as broken_rule
    from as_of
    cross join counted_orders
    where as_of.as_of_date is null and counted_orders.orders > 0

    union all

    select 'first_order_date is after as_of_date' as broken_rule
    from as_of
    where as_of.first_order_date > as_of.as_of_date

)

select * from broken
