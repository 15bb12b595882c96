{#-
    Every raw order row, parsed, with the reason it is rejected (null for rows that stage).
    stg_crm__orders and crm__rejected_rows both read this, so each raw row lands in exactly one
    of them. The order of the checks is the precedence documented in docs/definitions.md.
-#}
{%- do crm_retention.validate_vars() -%}
{%- set statuses = crm_retention.get_status_lists() -%}
{%- set source_relation = source('crm', 'orders') -%}
{%- set columns = crm_retention.relation_columns(source_relation) -%}
{%- set ordered_at = crm_retention.parse_timestamp('ordered_at', crm_retention.raw_column_type(columns, 'ordered_at')) -%}
{%- set updated_at = crm_retention.parse_timestamp('updated_at', crm_retention.raw_column_type(columns, 'updated_at')) -%}
{%- set amount = crm_retention.parse_amount('amount', crm_retention.raw_column_type(columns, 'amount')) -%}
{%- set refunded_amount = crm_retention.parse_amount('refunded_amount', crm_retention.raw_column_type(columns, 'refunded_amount')) -%}

with

source as (

    select
        order_id,
        customer_id,
        ordered_at,
        status,
        amount,
        {{ crm_retention.optional_column(columns, 'refunded_amount') }} as refunded_amount,
        {{ crm_retention.optional_column(columns, 'currency') }} as currency,
        {{ crm_retention.optional_column(columns, 'updated_at') }} as updated_at
    from {{ source_relation }}

),

parsed as (

    select
        {{ crm_retention.raw_text('order_id') }} as order_id,
        {{ crm_retention.raw_text('customer_id') }} as customer_id,
        lower({{ crm_retention.raw_text('status') }}) as status,
        {{ crm_retention.raw_text('currency') }} as currency,
        {{ ordered_at.is_valid }} as is_ordered_at_valid,
        {{ ordered_at.utc }} as ordered_at,
        {{ amount.is_number }} as is_amount_number,
        {{ amount.value }} as amount,
        {{ crm_retention.raw_text('refunded_amount') }} is not null as has_refunded_amount,
        {{ refunded_amount.is_number }} as is_refunded_amount_number,
        {{ refunded_amount.value }} as refunded_amount,
        {{ updated_at.utc }} as updated_at,
        {{ crm_retention.raw_text('ordered_at') }} as ordered_at_text,
        {{ crm_retention.raw_values([
            ('order_id', 'order_id'),
            ('customer_id', 'customer_id'),
            ('ordered_at', 'ordered_at'),
            ('status', 'status'),
            ('amount', 'amount'),
            ('refunded_amount', 'refunded_amount'),
            ('currency', 'currency'),
            ('updated_at', 'updated_at'),
        ]) }} as raw_values
    from source

),

versioned as (

    select
        *,
        row_number() over (
            partition by order_id
            order by updated_at desc nulls last, ordered_at_text desc nulls last, raw_values desc
        ) as version_rank
    from parsed

),

classified as (

    select
        *,
        case
            when order_id is null then 'missing_order_id'
            when version_rank > 1 then 'duplicate_order_id'
            when customer_id is null then 'missing_customer_id'
            when not is_ordered_at_valid then 'invalid_timestamp'
            when cast(ordered_at as date) > {{ crm_retention.current_utc_date() }} then 'future_timestamp'
            when status is null
                or status not in ('{{ (statuses.counted + statuses.ignored) | join("', '") }}')
                then 'unknown_status'
            when not is_amount_number then 'invalid_amount'
            when amount < 0 then 'negative_amount'
            when has_refunded_amount and not is_refunded_amount_number then 'invalid_refunded_amount'
            when refunded_amount < 0 then 'invalid_refunded_amount'
        end as rejection_reason
    from versioned

),

final as (

    select
        order_id,
        customer_id,
        ordered_at,
        cast(ordered_at as date) as order_date,
        status,
        case
            when status in ('{{ statuses.counted | join("', '") }}') then 'counted'
            else 'ignored'
        end as status_class,
        amount,
        refunded_amount,
        case
            when amount - coalesce(refunded_amount, 0) > 0 then amount - coalesce(refunded_amount, 0)
            else cast(0 as {{ crm_retention.type_money() }})
        end as net_revenue,
        currency,
        updated_at,
        rejection_reason,
        order_id as raw_key,
        raw_values
    from classified

)

select * from final
