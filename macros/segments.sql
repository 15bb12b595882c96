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

{#-
    The staged column of a segment that is not a contract column: segment__ and the name with
    every run of characters other than letters, digits and _ as one _ (a number appended when
    two names meet), a plain identifier on every engine that no column of the package can take.
-#}
{% macro segment_column_name(segment, taken) %}
    {% set column = 'segment__' ~ modules.re.sub('[^a-z0-9_]+', '_', segment | lower) %}
    {% set suffix = [''] %}
    {% for n in range(2, taken | length + 3) if (column ~ suffix[-1]) in taken %}
        {% do suffix.append('_' ~ n) %}
    {% endfor %}
    {{ return(column ~ suffix[-1]) }}
{% endmacro %}

{#- Each segment of crm_segments with the customer column that holds it: {name, column}. -#}
{% macro get_segment_columns() %}
    {% set staged_as = {} %}
    {% for spec in crm_retention.get_customers_columns() if spec.get('is_segment') %}
        {% do staged_as.update({spec.raw_name: spec.name}) %}
    {% endfor %}
    {% set columns = [] %}
    {% for segment in crm_retention.get_segments() %}
        {% do columns.append({'name': segment, 'column': staged_as.get(segment, segment)}) %}
    {% endfor %}
    {{ return(columns) }}
{% endmacro %}
