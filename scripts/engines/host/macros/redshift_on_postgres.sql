{#-
    PostgreSQL runs the package's Redshift versions: this project comes first in the dispatch
    search order for crm_retention, so each postgres__ macro here replaces the package's, and
    calls its redshift__ version. compare_engines.py checks that every redshift__ macro of the
    package has one here.
-#}

{% macro postgres__not_materialized() -%}
    {{ return(crm_retention.redshift__not_materialized()) }}
{%- endmacro %}

{% macro postgres__current_utc_date() -%}
    {{ return(crm_retention.redshift__current_utc_date()) }}
{%- endmacro %}

{% macro postgres__regex_replace_all(expression, pattern, replacement) -%}
    {{ return(crm_retention.redshift__regex_replace_all(expression, pattern, replacement)) }}
{%- endmacro %}
