{#-
    Every raw order row, parsed, with the reason it is rejected (null for rows that stage).
    stg_crm__orders and crm__rejected_rows both read this, so each raw row lands in exactly one
    of them. The order of the checks is the precedence documented in docs/definitions.md.
    In incremental mode (macros/incremental.sql) a run re-reads only the raw rows of order_ids
    with a row changed within the lookback, and replaces all rows of those order_ids; rows
    without an order_id are always re-read, so the pre-hook drops their previous copies.
-#}
{{ config(
    materialized=crm_retention.heavy_materialization(),
    incremental_strategy='delete+insert',
    unique_key='order_id',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where order_id is null{% endif %}",
) }}
{%- do crm_retention.validate_vars() -%}
{%- set statuses = crm_retention.get_status_lists() -%}
{%- set source_relation = source('crm', 'orders') -%}
{%- set columns = crm_retention.relation_columns(source_relation) -%}
{%- set raw_columns = ['order_id', 'customer_id', 'ordered_at', 'status', 'amount', 'refunded_amount', 'currency', 'updated_at'] -%}
{#- Each raw column as an expression: optional columns missing from the raw table are null. -#}
{%- set raw = {} -%}
{%- for name in raw_columns -%}{%- do raw.update({name: crm_retention.optional_column(columns, name)}) -%}{%- endfor -%}
{%- set ordered_at = crm_retention.parse_timestamp(raw.ordered_at, crm_retention.raw_column_type(columns, 'ordered_at')) -%}
{%- set updated_at = crm_retention.parse_timestamp(raw.updated_at, crm_retention.raw_column_type(columns, 'updated_at')) -%}
{%- set amount = crm_retention.parse_amount(raw.amount, crm_retention.raw_column_type(columns, 'amount')) -%}
{%- set refunded_amount = crm_retention.parse_amount(raw.refunded_amount, crm_retention.raw_column_type(columns, 'refunded_amount')) -%}
{%- set raw_values_list = [] -%}
{%- for name in raw_columns -%}{%- do raw_values_list.append((name, 'raw_' ~ name)) -%}{%- endfor -%}
{%- set raw_values = crm_retention.raw_values(raw_values_list) -%}
{%- set parsed_columns = [
    crm_retention.raw_text(raw.order_id) ~ ' as order_id',
    crm_retention.raw_text(raw.customer_id) ~ ' as customer_id',
    'lower(' ~ crm_retention.raw_text(raw.status) ~ ') as status',
    crm_retention.raw_text(raw.currency) ~ ' as currency',
    ordered_at.is_valid ~ ' as is_ordered_at_valid',
    ordered_at.utc ~ ' as ordered_at',
    amount.is_number ~ ' as is_amount_number',
    amount.value ~ ' as amount',
    refunded_amount.is_present ~ ' as has_refunded_amount',
    refunded_amount.is_number ~ ' as is_refunded_amount_number',
    refunded_amount.value ~ ' as refunded_amount',
    updated_at.utc ~ ' as updated_at',
] -%}
{%- for name in raw_columns -%}{%- do parsed_columns.append(raw[name] ~ ' as raw_' ~ name) -%}{%- endfor %}

with

{% if is_incremental() %}
-- The raw rows of every order id with a row changed within the lookback (macros/incremental.sql).
{{ crm_retention.changed_rows_ctes(
    source_relation, raw_columns, raw, crm_retention.raw_text(raw.order_id),
    'coalesce(' ~ updated_at.utc ~ ', ' ~ ordered_at.utc ~ ')', 'coalesce(updated_at, ordered_at)'
) }},
{% set input_relation = 'scoped' %}
{% else %}
{% set input_relation = source_relation %}
{% endif %}

-- The latest version of each order id survives; ties go to the later ordered_at text, then
-- the larger raw values, so every engine keeps the same row.
{{ crm_retention.latest_version_ctes(input_relation, 'order_id', raw.order_id, parsed_columns, 'raw_ordered_at', raw_values) }},

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
        -- Only rejected rows show their raw values; building the text for every row costs time.
        case when rejection_reason is not null then {{ raw_values }} end as raw_values,
        {{ crm_retention.run_started_at_literal() }} as processed_at
    from classified

)

select * from final
