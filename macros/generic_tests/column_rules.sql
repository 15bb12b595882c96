{#-
    The column rules of one model, checked in one scan of it: one failing row per broken rule,
    naming the column, the rule and how many rows break it.

    not_null:        columns that are never null
    not_null_where:  {condition: [columns]}: columns never null on rows where the condition holds
    between:         {column: [min, max]}: every non-null value lies in [min, max]; either bound
                     may be null (open)

    One test per model instead of one per column and rule: a build runs a few dozen tests
    rather than hundreds, each of them a full dbt node with its own start-up cost. Keys keep
    their own unique / not_null tests and enum columns their accepted_values.
-#}
{% test column_rules(model, not_null=[], not_null_where={}, between={}) %}
    {{ return(adapter.dispatch('test_column_rules', 'crm_retention')(model, not_null, not_null_where, between)) }}
{% endtest %}

{% macro default__test_column_rules(model, not_null, not_null_where, between) %}
{%- set rules = [] -%}
{%- for column in not_null -%}
    {%- do rules.append((column, 'not null', column ~ ' is null')) -%}
{%- endfor -%}
{%- for condition, columns in not_null_where.items() -%}
    {%- for column in columns -%}
        {%- do rules.append((column, 'not null where ' ~ condition, column ~ ' is null and (' ~ condition ~ ')')) -%}
    {%- endfor -%}
{%- endfor -%}
{%- for column, bounds in between.items() -%}
    {%- if bounds is string or bounds | length != 2 or (bounds[0] is none and bounds[1] is none) -%}
        {{ exceptions.raise_compiler_error("column_rules: between." ~ column ~ " needs [min, max] with at least one bound, got " ~ bounds) }}
    {%- endif -%}
    {%- set broken = [] -%}
    {%- if bounds[0] is not none -%}{%- do broken.append(column ~ ' < ' ~ bounds[0]) -%}{%- endif -%}
    {%- if bounds[1] is not none -%}{%- do broken.append(column ~ ' > ' ~ bounds[1]) -%}{%- endif -%}
    {%- do rules.append((column, 'between ' ~ (bounds[0] if bounds[0] is not none else '-inf') ~ ' and ' ~ (bounds[1] if bounds[1] is not none else 'inf'), broken | join(' or '))) -%}
{%- endfor -%}
{%- if rules | length == 0 -%}
    {{ exceptions.raise_compiler_error("column_rules needs at least one of not_null, not_null_where, between") }}
{%- endif %}

with

counted as (

    select
        {%- for rule in rules %}
        sum(case when {{ rule[2] }} then 1 else 0 end) as broken_{{ loop.index }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ model }}

),

failures as (

    {%- for rule in rules %}
    select
        '{{ rule[0] }}' as column_name,
        '{{ rule[1] | replace("'", "''") }}' as rule,
        broken_{{ loop.index }} as failing_rows
    from counted
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}

)

select *
from failures
where failing_rows > 0

{% endmacro %}
