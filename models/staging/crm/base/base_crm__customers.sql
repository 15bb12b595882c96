{#- Every raw customer row, parsed, with the reason it is rejected (null for rows that stage). -#}
{%- do crm_retention.validate_vars() -%}
{%- set source_relation = source('crm', 'customers') -%}
{%- set columns = crm_retention.relation_columns(source_relation) -%}
{%- set created_at = crm_retention.parse_timestamp('created_at', crm_retention.raw_column_type(columns, 'created_at')) -%}
{%- set updated_at = crm_retention.parse_timestamp('updated_at', crm_retention.raw_column_type(columns, 'updated_at')) -%}
{%- set optional_columns = ['email', 'first_name', 'last_name', 'country', 'acquisition_channel', 'created_at', 'updated_at'] -%}
{%- set raw_values_list = [('customer_id', 'raw_customer_id')] -%}
{%- for name in optional_columns -%}{%- do raw_values_list.append((name, 'raw_' ~ name)) -%}{%- endfor -%}
{%- set raw_values = crm_retention.raw_values(raw_values_list) -%}

with

source as (

    select
        customer_id,
        {%- for name in optional_columns %}
        {{ crm_retention.optional_column(columns, name) }} as {{ name }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ source_relation }}

),

parsed as (

    select
        {{ crm_retention.raw_text('customer_id') }} as customer_id,
        {{ crm_retention.raw_text('email') }} as email,
        {{ crm_retention.raw_text('first_name') }} as first_name,
        {{ crm_retention.raw_text('last_name') }} as last_name,
        {{ crm_retention.raw_text('country') }} as country,
        lower({{ crm_retention.raw_text('acquisition_channel') }}) as acquisition_channel,
        {{ crm_retention.raw_text('created_at') }} as created_at_text,
        {{ created_at.is_valid }} as is_created_at_valid,
        {{ created_at.utc }} as created_at,
        {{ updated_at.utc }} as updated_at,
        customer_id as raw_customer_id,
        {%- for name in optional_columns %}
        {{ name }} as raw_{{ name }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from source

),

-- The latest version of each customer id survives; ties go to the later created_at text, then
-- the larger raw values, so every engine keeps the same row.
{{ crm_retention.latest_version_ctes('parsed', 'customer_id', [
    'updated_at desc nulls last',
    'created_at_text desc nulls last',
    raw_values ~ ' desc',
] | join(', ')) }},

classified as (

    select
        *,
        case
            when customer_id is null then 'missing_customer_id'
            when version_rank > 1 then 'duplicate_customer_id'
            when created_at_text is not null and not is_created_at_valid then 'invalid_timestamp'
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
