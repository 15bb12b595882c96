{#-
    Table statistics after a model is written. PostgreSQL plans from statistics that dbt-postgres
    does not gather for the tables it creates, and autovacuum gathers them only later (never for
    a table of under 50 rows, such as int_crm__as_of): until then the planner guesses each table's
    size from its pages, counts the one-row as-of table as about 2,000 rows, and picks nested
    loops over millions of rows (docs/engines.md, "At scale"). The package's models therefore
    end with `analyze` on PostgreSQL; other engines need nothing.
-#}
{% macro analyze_table(relation) %}
    {{ return(adapter.dispatch('analyze_table', 'crm_retention')(relation)) }}
{% endmacro %}

{% macro default__analyze_table(relation) %}{% endmacro %}

{% macro postgres__analyze_table(relation) %}
    {%- if config.get('materialized') in ['table', 'incremental'] -%}
        analyze {{ relation }}
    {%- endif -%}
{% endmacro %}
