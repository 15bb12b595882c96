{#- Every raw marketing spend row, parsed, with the reason it is rejected (null for rows that stage). -#}
{{ config(enabled=crm_retention.get_flag('crm_using_marketing_spend', true)) }}
{%- do crm_retention.validate_vars() -%}
{%- set source_relation = source('crm', 'marketing_spend') -%}
{%- set columns = crm_retention.relation_columns(source_relation) -%}
{%- set spent_on = crm_retention.parse_timestamp('spent_on', crm_retention.raw_column_type(columns, 'spent_on')) -%}
{%- set amount = crm_retention.parse_amount('amount', crm_retention.raw_column_type(columns, 'amount')) -%}

with

source as (

    select
        spent_on,
        channel,
        amount
    from {{ source_relation }}

),

parsed as (

    select
        {{ spent_on.is_valid }} as is_spent_on_valid,
        cast({{ spent_on.utc }} as date) as spent_on,
        lower({{ crm_retention.raw_text('channel') }}) as channel,
        {{ amount.is_number }} as is_amount_number,
        {{ amount.value }} as amount,
        {{ dbt.concat([
            "coalesce(" ~ crm_retention.raw_text('spent_on') ~ ", '')",
            "'|'",
            "coalesce(" ~ crm_retention.raw_text('channel') ~ ", '')",
        ]) }} as raw_key,
        {{ crm_retention.raw_values([
            ('spent_on', 'spent_on'),
            ('channel', 'channel'),
            ('amount', 'amount'),
        ]) }} as raw_values
    from source

),

classified as (

    select
        *,
        case
            when not is_spent_on_valid then 'invalid_timestamp'
            when spent_on > {{ crm_retention.current_utc_date() }} then 'future_timestamp'
            when channel is null then 'missing_channel'
            when not is_amount_number then 'invalid_amount'
            when amount < 0 then 'negative_amount'
        end as rejection_reason
    from parsed

),

final as (

    select
        spent_on,
        channel,
        amount,
        rejection_reason,
        raw_key,
        raw_values
    from classified

)

select * from final
