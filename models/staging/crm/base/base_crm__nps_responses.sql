{#- Every raw NPS response row, parsed, with the reason it is rejected (null for rows that stage). -#}
{{ config(enabled=crm_retention.get_flag('crm_using_nps', true)) }}
{%- do crm_retention.validate_vars() -%}
{%- set source_relation = source('crm', 'nps_responses') -%}
{%- set columns = crm_retention.relation_columns(source_relation) -%}
{%- set responded_at = crm_retention.parse_timestamp('responded_at', crm_retention.raw_column_type(columns, 'responded_at')) -%}
{%- set score_text = crm_retention.raw_text('score') -%}

with

source as (

    select
        response_id,
        customer_id,
        responded_at,
        score,
        {{ crm_retention.optional_column(columns, 'comment') }} as response_comment
    from {{ source_relation }}

),

parsed as (

    select
        {{ crm_retention.raw_text('response_id') }} as response_id,
        {{ crm_retention.raw_text('customer_id') }} as customer_id,
        {{ responded_at.is_valid }} as is_responded_at_valid,
        {{ responded_at.utc }} as responded_at,
        {{ crm_retention.raw_text('responded_at') }} as responded_at_text,
        {% if crm_retention.is_numeric_type(crm_retention.raw_column_type(columns, 'score')) -%}
        {#- A typed score passes when it is a whole number: 9 and 9.0 do, 9.5 does not. -#}
        case
            when score = floor(score) and score between 0 and 10 then cast(score as {{ dbt.type_int() }})
        end as score,
        {%- else -%}
        {#- "9" and "10" pass; "9.5", "11" and "-1" do not; two digits at most keeps the cast safe. -#}
        case
            when {{ crm_retention.regex_matches(score_text, '^[0-9]{1,2}$') }}
                then cast({{ score_text }} as {{ dbt.type_int() }})
        end as score,
        {%- endif %}
        {{ crm_retention.raw_text('response_comment') }} as response_comment,
        {{ crm_retention.raw_values([
            ('response_id', 'response_id'),
            ('customer_id', 'customer_id'),
            ('responded_at', 'responded_at'),
            ('score', 'score'),
            ('comment', 'response_comment'),
        ]) }} as raw_values
    from source

),

versioned as (

    select
        *,
        row_number() over (
            partition by response_id
            order by responded_at_text desc nulls last, raw_values desc
        ) as version_rank
    from parsed

),

classified as (

    select
        *,
        case
            when response_id is null then 'missing_response_id'
            when version_rank > 1 then 'duplicate_response_id'
            when customer_id is null then 'missing_customer_id'
            when not is_responded_at_valid then 'invalid_timestamp'
            when cast(responded_at as date) > {{ crm_retention.current_utc_date() }} then 'future_timestamp'
            when score is null or score > 10 then 'invalid_score'
        end as rejection_reason
    from versioned

),

final as (

    select
        response_id,
        customer_id,
        responded_at,
        cast(responded_at as date) as responded_on,
        score,
        response_comment,
        rejection_reason,
        response_id as raw_key,
        raw_values
    from classified

)

select * from final
