{#-
    PostgreSQL runs the package's Redshift versions: this project comes first in the dispatch
    search order for crm_retention, so each postgres__ macro here replaces the package's, and
    calls its redshift__ version. compare_engines.py checks that every redshift__ macro of the
    package has one here, except redshift__regex_replace_all: PostgreSQL's regexp_replace without
    the 'g' flag replaces the first match only, where Redshift's replaces every match, so on
    PostgreSQL it cannot stand for Redshift.
-#}

{% macro postgres__not_materialized() -%}
    {{ return(crm_retention.redshift__not_materialized()) }}
{%- endmacro %}

{% macro postgres__current_utc_date() -%}
    {{ return(crm_retention.redshift__current_utc_date()) }}
{%- endmacro %}
