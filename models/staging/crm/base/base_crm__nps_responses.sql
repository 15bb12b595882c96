{#-
    Every raw NPS response row, parsed, with the reason it is rejected (null for rows that
    stage). De-duplication follows the pattern of base_crm__orders: the latest version of each
    response_id survives (the latest updated_at, then the later responded_at text, then the
    larger raw values), and only ids with several raw rows are ranked (rank_versions). The
    parsing reads the trimmed texts of trimmed_responses by name.
-#}
{{ config(enabled=crm_retention.get_flag('crm_using_nps', true)) }}
{%- do crm_retention.validate_vars() -%}
{%- set specs = crm_retention.get_nps_responses_columns() -%}
{%- set raw_rows = source('crm', 'nps_responses') -%}
{%- set raw = crm_retention.raw_columns(raw_rows, specs, 'nps_responses') -%}
{%- set responded_at = crm_retention.parse_timestamp('raw_responded_at', raw.types.responded_at, 'responded_at_text') -%}
{%- set updated_at = crm_retention.parse_timestamp('raw_updated_at', raw.types.updated_at, 'updated_at_text') -%}
{%- set raw_values = crm_retention.raw_values_of(specs) %}

with

-- Each raw column as read (raw_<column>) and as trimmed text, null when blank (<column>_text).
trimmed_responses as {{ crm_retention.not_materialized() }} (

    select
        {{ crm_retention.trimmed_columns(specs, raw) }}
    from {{ raw_rows }}

),

-- Every raw row parsed once. Read three times by the ranking of versions, and not materialised:
-- each reader reads the raw table again (DECISIONLOG.md).
parsed_responses as {{ crm_retention.not_materialized() }} (

    select
        response_id_text as response_id,
        customer_id_text as customer_id,
        {{ responded_at.is_valid }} as is_responded_at_valid,
        {{ responded_at.utc }} as responded_at,
        {% if crm_retention.is_numeric_type(raw.types.score) -%}
        {#- A typed score passes when it is a whole number: 9 and 9.0 do, 9.5 does not. -#}
        case
            when raw_score = floor(raw_score) and raw_score between 0 and 10
                then cast(raw_score as {{ dbt.type_int() }})
        end as score,
        {%- else -%}
        {#- "9" and "10" pass; "9.5", "11" and "-1" do not; two digits at most keeps the cast safe. -#}
        case
            when {{ crm_retention.regex_matches('score_text', '^[0-9]{1,2}$') }}
                then cast(score_text as {{ dbt.type_int() }})
        end as score,
        {%- endif %}
        comment_text as response_comment,
        {{ updated_at.utc }} as updated_at,
        {%- for spec in specs %}
        raw_{{ spec.name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from trimmed_responses

),

-- The latest updated_at wins; ties go to the later responded_at text, then the larger raw
-- values, so every engine keeps the same row (macros/deduplication.sql).
versioned as (

    {{ crm_retention.rank_versions('parsed_responses', ['response_id'],
        order_by='updated_at desc nulls last, ' ~ crm_retention.raw_text('raw_responded_at') ~ ' desc nulls last, '
            ~ raw_values ~ ' desc') }}

),

classified as (

    select
        *,
        case
            when response_id is null then 'missing_response_id'
            when version_rank > 1 and is_superseded then 'superseded_version'
            when version_rank > 1 then 'duplicate_response_id'
            when customer_id is null then 'missing_customer_id'
            when not is_responded_at_valid then 'invalid_timestamp'
            when {{ crm_retention.is_too_early('responded_at') }} then 'too_early_timestamp'
            when cast(responded_at as date) > {{ crm_retention.current_utc_date() }} then '{{ crm_retention.future_reason() }}'
            when score is null or score > 10 then 'invalid_score'
        end as rejection_reason
    from versioned

),

final as (

    select
        response_id,
        customer_id,
        responded_at,
        {{ crm_retention.local_date('responded_at') }} as responded_on,
        score,
        response_comment,
        rejection_reason,
        response_id as raw_key,
        case when rejection_reason is not null then {{ raw_values }} end as raw_values
    from classified

)

select * from final
