{#-
    Incremental mode only (macros/incremental/state.sql): the log of which customers each change of an
    order touched, appended to by every run and never rewritten. For each order_id that
    base_crm__orders rewrote since this log last read it (a new, changed, cancelled, moved or
    deleted order), one row per customer the order now belongs to (is_current) and one per
    customer it belonged to before and no longer does, taken from the log itself. A
    customer-grain table recomputes the customers logged after the point it has consumed, so an
    interrupted run only leaves more for the next run to read.
-#}
{{ crm_retention.incremental_log(settings=['orders']) }}

with

order_rows as (

    select * from {{ ref('base_crm__orders') }}
    where order_id is not null
    {%- if is_incremental() %}
        and processed_at > (select coalesce(max(processed_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }})
    {%- endif %}

),

changed_orders as (

    select distinct order_id
    from order_rows

),

-- The customer of the order's staged version; none for an order whose rows are all rejected
-- or that left the raw table.
current_customers as (

    select distinct
        order_id,
        customer_id
    from order_rows
    where rejection_reason is null and customer_id is not null

),
{%- if is_incremental() %}

-- The customers the log last gave each changed order.
logged as (

    select
        log.order_id,
        log.customer_id,
        log.is_current,
        log.processed_at,
        max(log.processed_at) over (partition by log.order_id) as last_processed_at
    from {{ this }} as log
    inner join changed_orders
        on log.order_id = changed_orders.order_id

),

previous_customers as (

    select distinct
        order_id,
        customer_id
    from logged
    where processed_at = last_processed_at and is_current

),
{%- endif %}

final as (

    select
        order_id,
        customer_id,
        true as is_current
    from current_customers
    {%- if is_incremental() %}

    union all

    select
        previous_customers.order_id,
        previous_customers.customer_id,
        false as is_current
    from previous_customers
    left join current_customers
        on previous_customers.order_id = current_customers.order_id
        and previous_customers.customer_id = current_customers.customer_id
    where current_customers.customer_id is null
    {%- endif %}

)

select
    order_id,
    customer_id,
    is_current,
    {{ crm_retention.run_started_at_literal() }} as processed_at
from final
