{#-
    Every raw order row, parsed, with the reason it is rejected (null for rows that stage).
    stg_crm__orders and stg_crm__rejected_rows both read this, so each raw row lands in exactly
    one of them. The order of the checks is the precedence documented in docs/definitions.md.

    De-duplication (the same pattern in every base model): the latest version of each order_id
    survives. One grouping finds the ids with several raw rows; only their rows are ranked (a
    window over a few rows), every other row is parsed once with no window. Each CTE reads the
    raw rows itself, so no engine has to keep a shared result of millions of rows.
    In incremental mode (macros/incremental.sql) the raw rows are those of the order_ids with a
    row changed within the lookback.
-#}
{{ crm_retention.incremental_by_key('order_id') }}
{%- do crm_retention.validate_vars() -%}
{%- set statuses = crm_retention.get_status_lists() -%}
{%- set specs = crm_retention.get_orders_columns() -%}
{%- set raw = crm_retention.raw_columns(source('crm', 'orders'), specs) -%}
{%- set order_id = crm_retention.raw_text(raw.order_id, raw.types.order_id) -%}
{%- set ordered_at = crm_retention.parse_timestamp(raw.ordered_at, raw.types.ordered_at) -%}
{%- set updated_at = crm_retention.parse_timestamp(raw.updated_at, raw.types.updated_at) -%}
{%- set amount = crm_retention.parse_amount(raw.amount, raw.types.amount) -%}
{%- set refunded_amount = crm_retention.parse_amount(raw.refunded_amount, raw.types.refunded_amount) -%}
{%- if is_incremental() -%}
    {%- set raw_rows = crm_retention.changed_raw_rows(
        source('crm', 'orders'), specs, raw, order_id,
        'coalesce(' ~ updated_at.utc ~ ', ' ~ ordered_at.utc ~ ')', 'coalesce(updated_at, ordered_at)'
    ) -%}
{%- else -%}
    {%- set raw_rows = source('crm', 'orders') -%}
{%- endif -%}
{%- set parsed_columns -%}
        {{ order_id }} as order_id,
        {{ crm_retention.raw_text(raw.customer_id, raw.types.customer_id) }} as customer_id,
        lower({{ crm_retention.raw_text(raw.status) }}) as status,
        {{ crm_retention.raw_text(raw.currency) }} as currency,
        {{ ordered_at.is_valid }} as is_ordered_at_valid,
        {{ ordered_at.utc }} as ordered_at,
        {{ amount.is_number }} as is_amount_number,
        {{ amount.value }} as amount,
        {{ refunded_amount.is_present }} as has_refunded_amount,
        {{ refunded_amount.is_number }} as is_refunded_amount_number,
        {{ refunded_amount.value }} as refunded_amount,
        {{ updated_at.utc }} as updated_at,
        {%- for spec in specs %}
        {{ raw[spec.name] }} as raw_{{ spec.name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
{%- endset -%}
{%- set raw_values = crm_retention.raw_values_of(specs) %}

with

repeated_order_ids as (

    select {{ order_id }} as repeated_order_id
    from {{ raw_rows }}
    where {{ order_id }} is not null
    group by {{ order_id }}
    having count(*) > 1

),

single_versions as (

    select
        {{ parsed_columns }},
        1 as version_rank
    from {{ raw_rows }}
    left join repeated_order_ids
        on {{ order_id }} = repeated_order_ids.repeated_order_id
    where repeated_order_ids.repeated_order_id is null

),

repeated_versions as (

    select
        {{ parsed_columns }}
    from {{ raw_rows }}
    inner join repeated_order_ids
        on {{ order_id }} = repeated_order_ids.repeated_order_id

),

-- The latest updated_at wins; ties go to the later ordered_at text, then the larger raw values,
-- so every engine keeps the same row.
versioned as (

    select * from single_versions

    union all

    select
        *,
        row_number() over (
            partition by order_id
            order by
                updated_at desc nulls last,
                {{ crm_retention.raw_text('raw_ordered_at') }} desc nulls last,
                {{ raw_values }} desc
        ) as version_rank
    from repeated_versions

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
        -- Only rejected rows show their raw values; building the text for every row costs time.
        case when rejection_reason is not null then {{ raw_values }} end as raw_values,
        {{ crm_retention.run_started_at_literal() }} as processed_at
    from classified

)

select * from final
