{#-
    Every raw customer row, parsed, with the reason it is rejected (null for rows that stage).
    In incremental mode (macros/incremental.sql) a run re-reads only the raw rows of customer
    ids with a row changed (updated_at, or created_at where updated_at is missing) within the
    lookback, and replaces all rows of those ids; rows without either timestamp, and rows
    without a customer_id, are re-read by every run.
-#}
{{ config(
    materialized=crm_retention.heavy_materialization(),
    incremental_strategy='delete+insert',
    unique_key='customer_id',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where customer_id is null{% endif %}",
) }}
{%- do crm_retention.validate_vars() -%}
{%- set source_relation = source('crm', 'customers') -%}
{%- set columns = crm_retention.relation_columns(source_relation) -%}
{%- set optional_columns = ['email', 'first_name', 'last_name', 'country', 'acquisition_channel', 'created_at', 'updated_at'] -%}
{#- Each raw column as an expression: optional columns missing from the raw table are null. -#}
{%- set raw = {'customer_id': 'customer_id'} -%}
{%- set raw_columns = ['customer_id'] + optional_columns -%}
{%- for name in optional_columns -%}{%- do raw.update({name: crm_retention.optional_column(columns, name)}) -%}{%- endfor -%}
{%- set created_at = crm_retention.parse_timestamp(raw.created_at, crm_retention.raw_column_type(columns, 'created_at')) -%}
{%- set updated_at = crm_retention.parse_timestamp(raw.updated_at, crm_retention.raw_column_type(columns, 'updated_at')) -%}
{%- set raw_values_list = [] -%}
{%- for name in raw_columns -%}{%- do raw_values_list.append((name, 'raw_' ~ name)) -%}{%- endfor -%}
{%- set raw_values = crm_retention.raw_values(raw_values_list) -%}
{%- set parsed_columns = [
    crm_retention.raw_text(raw.customer_id) ~ ' as customer_id',
    crm_retention.raw_text(raw.email) ~ ' as email',
    crm_retention.raw_text(raw.first_name) ~ ' as first_name',
    crm_retention.raw_text(raw.last_name) ~ ' as last_name',
    crm_retention.raw_text(raw.country) ~ ' as country',
    'lower(' ~ crm_retention.raw_text(raw.acquisition_channel) ~ ') as acquisition_channel',
    created_at.is_present ~ ' as has_created_at',
    created_at.is_valid ~ ' as is_created_at_valid',
    created_at.utc ~ ' as created_at',
    updated_at.utc ~ ' as updated_at',
] -%}
{%- for name in raw_columns -%}{%- do parsed_columns.append(raw[name] ~ ' as raw_' ~ name) -%}{%- endfor %}

with

{% if is_incremental() %}
-- The raw rows of every customer id with a row changed within the lookback (macros/incremental.sql).
{{ crm_retention.changed_rows_ctes(
    source_relation, raw_columns, raw, crm_retention.raw_text(raw.customer_id),
    'coalesce(' ~ updated_at.utc ~ ', ' ~ created_at.utc ~ ')', 'coalesce(updated_at, created_at)'
) }},
{% set input_relation = 'scoped' %}
{% else %}
{% set input_relation = source_relation %}
{% endif %}

-- The latest version of each customer id survives; ties go to the later created_at text, then
-- the larger raw values, so every engine keeps the same row.
{{ crm_retention.latest_version_ctes(input_relation, 'customer_id', raw.customer_id, parsed_columns, 'raw_created_at', raw_values) }},

classified as (

    select
        *,
        case
            when customer_id is null then 'missing_customer_id'
            when version_rank > 1 then 'duplicate_customer_id'
            when has_created_at and not is_created_at_valid then 'invalid_timestamp'
            when cast(created_at as date) > {{ crm_retention.current_utc_date() }} then 'future_timestamp'
        end as rejection_reason
    from versioned

),

final as (

    select
        customer_id,
        email,
        first_name,
        last_name,
        country,
        acquisition_channel,
        created_at,
        updated_at,
        rejection_reason,
        customer_id as raw_key,
        -- Only rejected rows show their raw values; building the text for every row costs time.
        case when rejection_reason is not null then {{ raw_values }} end as raw_values
    from classified

)

select * from final
