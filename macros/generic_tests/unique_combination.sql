{#-
    The columns together identify a row: no combination of their values occurs twice. The key
    test of models whose grain is more than one column (customer x period, cohort x k, ...).
    Null parts are compared as values, so a key with a null part is still checked; pair it with
    not_null on each column.
-#}
{% test unique_combination(model, combination_of_columns) %}
    {{ return(adapter.dispatch('test_unique_combination', 'crm_retention')(model, combination_of_columns)) }}
{% endtest %}

{% macro default__test_unique_combination(model, combination_of_columns) %}
{%- set columns_csv = combination_of_columns | join(', ') %}

with

grouped as (

    select
        {{ columns_csv }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns_csv }}

)

select *
from grouped
where occurrences > 1

{% endmacro %}
