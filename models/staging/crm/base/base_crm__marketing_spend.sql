{#-
    Every raw marketing spend row, parsed, with the reason it is rejected (null for rows that
    stage). Spend rows have no key and are not de-duplicated: two rows for one day and channel
    are two spends.
-#}
{{ config(enabled=crm_retention.get_flag('crm_using_marketing_spend', true)) }}
{%- do crm_retention.validate_vars() -%}
{%- set specs = crm_retention.get_marketing_spend_columns() -%}
{%- set raw_rows = source('crm', 'marketing_spend') -%}
{%- set raw = crm_retention.raw_columns(raw_rows, specs, 'marketing_spend') -%}
{%- set spent_on = crm_retention.parse_timestamp('raw_spent_on', raw.types.spent_on, 'spent_on_text') -%}
{%- set amount = crm_retention.parse_amount('raw_amount', raw.types.amount, 'amount_text') %}

with

-- Each raw column as read (raw_<column>) and as trimmed text, null when blank (<column>_text).
trimmed_spend as (

    select
        {{ crm_retention.trimmed_columns(specs, raw) }}
    from {{ raw_rows }}

),

parsed as (

    select
        {{ spent_on.is_valid }} as is_spent_on_valid,
        {{ crm_retention.local_date(spent_on.utc) }} as spent_on,
        lower(channel_text) as channel,
        {{ amount.is_number }} as is_amount_number,
        {{ amount.value }} as amount,
        {{ dbt.concat(["coalesce(spent_on_text, '')", "'|'", "coalesce(channel_text, '')"]) }} as raw_key,
        {%- for spec in specs %}
        raw_{{ spec.name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from trimmed_spend

),

classified as (

    select
        *,
        case
            when not is_spent_on_valid then 'invalid_timestamp'
            when {{ crm_retention.is_too_early('spent_on') }} then 'too_early_timestamp'
            when spent_on > {{ crm_retention.current_utc_date() }} then '{{ crm_retention.future_reason() }}'
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
        {{ crm_retention.raw_values_of(specs) }} as raw_values
    from classified

)

select * from final
