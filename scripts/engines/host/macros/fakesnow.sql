{#-
    Seeds on the Snowflake emulator in inserts of 1,000 rows (dbt-snowflake: 10,000). fakesnow
    parses each insert with sqlglot; on a busy machine a 10,000-row statement outlasts the
    connector's wait, the connector sends it again, and fakesnow refuses the retry because the
    session is still busy with the first. Real Snowflake takes dbt-snowflake's default.
-#}
{% macro snowflake__get_batch_size() -%}
    {{ return(1000) }}
{%- endmacro %}
