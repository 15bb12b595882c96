{#-
    Segments (crm_segments): the same computation for every customer, or per segment. The period
    marts and their _by_segment twins share one macro each (macros/retention_marts.sql); these
    helpers add the segment key where a segmented version groups, joins or partitions, and
    render nothing in the unsegmented one, so both run the same SQL on the same rows.
-#}

{#- The segment key columns as the first columns of a select or group by (with a trailing comma). -#}
{% macro segment_key(segmented, alias=none) -%}
    {%- if segmented -%}
        {%- set prefix = alias ~ '.' if alias else '' -%}
        {{ prefix }}segment_name, {{ prefix }}segment_value,
    {%- endif -%}
{%- endmacro %}

{#- A join condition's extra terms: the same segment on both sides. -#}
{% macro same_segment(segmented, left, right) -%}
    {%- if segmented %}
            and {{ left }}.segment_name = {{ right }}.segment_name
            and {{ left }}.segment_value = {{ right }}.segment_value
    {%- endif -%}
{%- endmacro %}

{#- A window's partition by the segment key (or nothing). -#}
{% macro partition_by_segment(segmented, more=none) -%}
    {%- set columns = (['segment_name', 'segment_value'] if segmented else []) + ([more] if more else []) -%}
    {%- if columns %}partition by {{ columns | join(', ') }}{% endif -%}
{%- endmacro %}

{#- The value a customer without one (a null attribute, or a guest without a record) falls in. -#}
{% macro unknown_segment_value() -%}
    'unknown'
{%- endmacro %}
