{#-
    Every raw customer row, parsed, with the reason it is rejected (null for rows that stage).
    De-duplication follows the pattern of base_crm__orders: the latest version of each
    customer_id survives, and only ids with several raw rows are ranked (rank_versions); the
    parsing reads the trimmed texts of trimmed_customers by name. In incremental mode
    (macros/incremental/reread.sql) the raw rows are those of the customer ids with a row changed
    (updated_at, or created_at where updated_at is missing) within the lookback; rows without
    either timestamp, and rows without a customer_id, are re-read by every run. A customer_id
    that left the raw table leaves a tombstone.
-#}
{{ config(enabled=crm_retention.get_flag('crm_using_customers', true)) }}
{{ crm_retention.incremental_by_key('customers', 'customer_id', 'created_at', settings=['customers']) }}
{%- do crm_retention.validate_vars() -%}
{%- set specs = crm_retention.get_customers_columns() -%}
{%- set raw = crm_retention.raw_columns(source('crm', 'customers'), specs, 'customers') -%}
{#- The parse expressions read the trimmed texts of trimmed_customers by name. -#}
{%- set created_at = crm_retention.parse_timestamp('raw_created_at', raw.types.created_at, 'created_at_text') -%}
{%- set updated_at = crm_retention.parse_timestamp('raw_updated_at', raw.types.updated_at, 'updated_at_text') -%}
{%- set raw_values = crm_retention.raw_values_of(specs) %}

with
{%- if is_incremental() %}

-- Incremental run: the raw rows of the customer ids to re-read (macros/incremental/reread.sql).
changed_raw_rows as (

    {{ crm_retention.changed_raw_rows() }}

),
{%- endif %}

-- Each raw column as read (raw_<column>) and as trimmed text, null when blank (<column>_text).
trimmed_customers as {{ crm_retention.not_materialized() }} (

    select
        {{ crm_retention.trimmed_columns(specs, raw) }}
    from {{ 'changed_raw_rows' if is_incremental() else source('crm', 'customers') }}

),

-- Every raw row parsed once. Read three times by the ranking of versions, and not materialised:
-- each reader reads the raw table again (DECISIONLOG.md).
parsed_customers as {{ crm_retention.not_materialized() }} (

    select
        customer_id_text as customer_id,
        {%- for name in ['email', 'first_name', 'last_name', 'country'] + crm_retention.get_customer_segment_columns() %}
        {{ crm_retention.attribute_text(name ~ '_text') }} as {{ name }},
        {%- endfor %}
        lower({{ crm_retention.attribute_text('acquisition_channel_text') }}) as acquisition_channel,
        {{ created_at.is_present }} as has_created_at,
        {{ created_at.is_valid }} as is_created_at_valid,
        {{ created_at.utc }} as created_at,
        {{ updated_at.utc }} as updated_at,
        {%- for spec in specs %}
        raw_{{ spec.name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from trimmed_customers

),

-- The latest updated_at wins; ties go to the later created_at text, then the larger raw values,
-- so every engine keeps the same row (macros/deduplication.sql).
versioned as (

    {{ crm_retention.rank_versions('parsed_customers', ['customer_id'],
        order_by='updated_at desc nulls last, ' ~ crm_retention.raw_text('raw_created_at') ~ ' desc nulls last, '
            ~ raw_values ~ ' desc') }}

),

classified as (

    select
        *,
        case
            when customer_id is null then 'missing_customer_id'
            when version_rank > 1 and is_superseded then 'superseded_version'
            when version_rank > 1 then 'duplicate_customer_id'
            when has_created_at and not is_created_at_valid then 'invalid_timestamp'
            when {{ crm_retention.is_too_early('created_at') }} then 'too_early_timestamp'
            when cast(created_at as date) > {{ crm_retention.current_utc_date() }} then '{{ crm_retention.future_reason() }}'
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
        {%- for name in crm_retention.get_customer_segment_columns() %}
        {{ name }},
        {%- endfor %}
        created_at,
        updated_at,
        rejection_reason,
        customer_id as raw_key,
        -- Only rejected rows show their raw values; building the text for every row costs time.
        case when rejection_reason is not null then {{ raw_values }} end as raw_values
    from classified

){%- if is_incremental() and crm_retention.is_full_check() %},

-- Full check: the stored rows of customer ids that left the raw table (macros/incremental/reread.sql).
tombstones as (

    {{ crm_retention.tombstones() }}

)
{%- endif %}

select * from final
{%- if is_incremental() and crm_retention.is_full_check() %}

union all

select * from tombstones
{%- endif %}
