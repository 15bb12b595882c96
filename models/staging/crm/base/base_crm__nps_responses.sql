{#-
    Every raw NPS response row, parsed, with the reason it is rejected (null for rows that
    stage). De-duplication follows the pattern of base_crm__orders: the latest version of each
    response_id survives (the later responded_at text, then the larger raw values), and only
    ids with several raw rows are ranked.
-#}
{{ config(enabled=crm_retention.get_flag('crm_using_nps', true)) }}
{%- do crm_retention.validate_vars() -%}
{%- set specs = crm_retention.get_nps_responses_columns() -%}
{%- set raw_rows = source('crm', 'nps_responses') -%}
{%- set raw = crm_retention.raw_columns(raw_rows, specs) -%}
{%- set response_id = crm_retention.raw_text(raw.response_id, raw.types.response_id) -%}
{%- set responded_at = crm_retention.parse_timestamp(raw.responded_at, raw.types.responded_at) -%}
{%- set score_text = crm_retention.raw_text(raw.score) -%}
{%- set parsed_columns -%}
        {{ response_id }} as response_id,
        {{ crm_retention.raw_text(raw.customer_id, raw.types.customer_id) }} as customer_id,
        {{ responded_at.is_valid }} as is_responded_at_valid,
        {{ responded_at.utc }} as responded_at,
        {% if crm_retention.is_numeric_type(raw.types.score) -%}
        {#- A typed score passes when it is a whole number: 9 and 9.0 do, 9.5 does not. -#}
        case
            when {{ raw.score }} = floor({{ raw.score }}) and {{ raw.score }} between 0 and 10
                then cast({{ raw.score }} as {{ dbt.type_int() }})
        end as score,
        {%- else -%}
        {#- "9" and "10" pass; "9.5", "11" and "-1" do not; two digits at most keeps the cast safe. -#}
        case
            when {{ crm_retention.regex_matches(score_text, '^[0-9]{1,2}$') }}
                then cast({{ score_text }} as {{ dbt.type_int() }})
        end as score,
        {%- endif %}
        {{ crm_retention.raw_text(raw.comment) }} as response_comment,
        {%- for spec in specs %}
        {{ raw[spec.name] }} as raw_{{ spec.name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
{%- endset -%}
{%- set raw_values = crm_retention.raw_values_of(specs) %}

with

repeated_response_ids as (

    select {{ response_id }} as repeated_response_id
    from {{ raw_rows }}
    where {{ response_id }} is not null
    group by {{ response_id }}
    having count(*) > 1

),

single_versions as (

    select
        {{ parsed_columns }},
        1 as version_rank
    from {{ raw_rows }}
    left join repeated_response_ids
        on {{ response_id }} = repeated_response_ids.repeated_response_id
    where repeated_response_ids.repeated_response_id is null

),

repeated_versions as (

    select
        {{ parsed_columns }}
    from {{ raw_rows }}
    inner join repeated_response_ids
        on {{ response_id }} = repeated_response_ids.repeated_response_id

),

versioned as (

    select * from single_versions

    union all

    select
        *,
        row_number() over (
            partition by response_id
            order by
                {{ crm_retention.raw_text('raw_responded_at') }} desc nulls last,
                {{ raw_values }} desc
        ) as version_rank
    from repeated_versions

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
        case when rejection_reason is not null then {{ raw_values }} end as raw_values
    from classified

)

select * from final
