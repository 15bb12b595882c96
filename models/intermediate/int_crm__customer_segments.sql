{#-
    Segment membership (crm_segments): one row per customer (every staged customer and every
    guest) and segment name, with the customer's value as text. A customer has one value per
    segment for their whole history: the value of their customer record as staged for the
    as-of date (its latest version); a null value, and a guest without a record, fall in
    'unknown'. Disabled when crm_segments is empty. A segment beyond the raw contract is read from
    its namespaced column (segment__<name>, macros/segments.sql).
-#}
{%- set segments = crm_retention.get_segments() -%}
{{ config(enabled=segments | length > 0) }}

with

customers as (

    select * from {{ ref('int_crm__customers') }}

),

final as (

    {% for segment in crm_retention.get_segment_columns() -%}
    select
        customer_id,
        cast('{{ segment.name | replace("'", "''") }}' as {{ dbt.type_string() }}) as segment_name,
        coalesce(cast({{ segment.column }} as {{ dbt.type_string() }}), {{ crm_retention.unknown_segment_value() }})
            as segment_value
    from customers
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

)

select * from final
