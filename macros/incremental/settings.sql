{#-
    Incremental mode (crm_incremental: true; docs/incremental.md shows a model's one-line opt-in,
    whose arguments are kept in its config(meta=...) under `crm_incremental`): the switches, and
    the settings recorded with each incremental table. What a run recomputes follows from what the
    tables already hold, never from stamps of the current run alone, so any interrupted or partial
    run followed by a normal run ends equal to a full refresh. Outside incremental mode all of it
    compiles to nothing.
-#}

{#- Incremental mode runs on DuckDB, PostgreSQL and Snowflake: anywhere else the switch is a var error. -#}
{% macro is_incremental_mode() %}
    {% set value = crm_retention.get_flag('crm_incremental', false) %}
    {% if value and target.type not in ['duckdb', 'postgres', 'snowflake'] %}
        {{ crm_retention._crm_var_error('crm_incremental', var('crm_incremental'),
            'false on ' ~ target.type ~ ' (incremental mode runs on DuckDB, PostgreSQL and Snowflake; docs/incremental.md)') }}
    {% endif %}
    {{ return(value) }}
{% endmacro %}

{% macro is_full_check() %}
    {{ return(crm_retention.is_incremental_mode() and crm_retention.get_flag('crm_incremental_full_check', false)) }}
{% endmacro %}

{% macro get_incremental_lookback_days() %}
    {% set value = var('crm_incremental_lookback_days', 3) %}
    {% set text = value | string | trim %}
    {% if value is boolean or not modules.re.fullmatch('[0-9]+', text) or (text | int) > 3650 %}
        {{ crm_retention._crm_var_error('crm_incremental_lookback_days', value, 'a whole number of days from 0 to 3650') }}
    {% endif %}
    {{ return(text | int) }}
{% endmacro %}

{#- The reason a tombstone carries: the key left the raw table (never a rejected row). -#}
{% macro deleted_reason() %}
    {{ return('deleted_from_source') }}
{% endmacro %}

{#-
    The rejection reason of a row dated after the day it was built: base tables give it, and an
    incremental run re-reads its key, since the day may have come.
-#}
{% macro future_reason() %}
    {{ return('future_timestamp') }}
{% endmacro %}

{#- Not a tombstone: a row of a key still in the raw table. -#}
{% macro is_live_row(reason='rejection_reason') -%}
    coalesce({{ reason }}, '') <> '{{ crm_retention.deleted_reason() }}'
{%- endmacro %}

{#-
    The settings that shape an incremental table, from the groups its opt-in names, and the
    columns of the raw table it is built from. A change of any of them between runs would mix old
    and new rows in one table, so the run stops instead.
-#}
{% macro incremental_settings(groups) %}
    {% set by_group = {
        'orders': {
            'columns of the raw orders table': crm_retention.raw_column_names('orders'),
            'crm_orders_grain': crm_retention.get_orders_grain(),
            'crm_orders_columns': var('crm_orders_columns', none),
            'crm_default_order_status': crm_retention.get_default_order_status(),
            'crm_counted_statuses': crm_retention.get_status_lists().counted,
            'crm_ignored_statuses': crm_retention.get_status_lists().ignored,
            'crm_reporting_currency': crm_retention.get_reporting_currency(),
            'crm_using_exchange_rates': crm_retention.get_flag('crm_using_exchange_rates', false),
            'crm_earliest_valid_date': crm_retention.get_earliest_valid_date() | string,
        },
        'customers': {
            'columns of the raw customers table': crm_retention.raw_column_names('customers'),
            'crm_customers_columns': var('crm_customers_columns', none),
            'crm_segments': crm_retention.get_customer_segment_columns(),
            'crm_earliest_valid_date': crm_retention.get_earliest_valid_date() | string,
        },
        'periods': {
            'crm_period': crm_retention.get_period(),
            'crm_as_of_date': crm_retention.get_as_of_date() | string,
        },
        'churn': {'crm_churn_window_days': crm_retention.get_churn_window_days()},
    } %}
    {% set settings = {} %}
    {% for group in groups %}
        {% do settings.update(by_group[group]) %}
    {% endfor %}
    {{ return(settings) }}
{% endmacro %}

{#-
    The columns of a raw table (lower-cased names, sorted), recorded with the tables built from it:
    a column dropped or added changes every row (an optional column then reads as null), which
    the reconciliation's row counts and change times do not see.
-#}
{% macro raw_column_names(source_name) %}
    {% if not execute %}
        {{ return([]) }}
    {% endif %}
    {% for node in graph.sources.values() if node.package_name == 'crm_retention' and node.name == source_name %}
        {% set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.identifier) %}
        {{ return(crm_retention.relation_columns(relation).keys() | sort if relation is not none else []) }}
    {% endfor %}
    {{ return([]) }}
{% endmacro %}

{#- The arguments a model's opt-in recorded (config meta `crm_incremental`), of a graph node or of the current model. -#}
{% macro incremental_meta(node=none) %}
    {{ return(((node or model).config.meta or {}).get('crm_incremental', {})) }}
{% endmacro %}

{#-
    Stops the run when an incremental table that exists was built with other settings than this
    run's (or with none recorded); a full refresh skips it. The package's on-run-start hook checks
    every incremental table before any model runs (`model_name` none); each incremental table
    checks itself again when it compiles, before it writes, in case the host lets models run
    after a failed on-run-start hook.
-#}
{% macro check_incremental_settings(model_name=none) %}
    {% if not (execute and crm_retention.is_incremental_mode()) or flags.FULL_REFRESH %}
        {{ return('') }}
    {% endif %}
    {% for table in crm_retention._incremental_nodes() if table.node.name == (model_name or table.node.name) %}
        {% set relation = adapter.get_relation(database=table.relation.database, schema=table.relation.schema,
            identifier=table.relation.identifier) %}
        {% set state = adapter.get_relation(database=table.state.database, schema=table.state.schema,
            identifier=table.state.identifier) %}
        {% if relation is not none and relation.is_table %}
            {#- The name as the model records it (this.identifier): Snowflake's catalog returns it upper-cased. -#}
            {% set rows = run_query("select settings from " ~ state ~ " where model_name = '" ~ table.relation.identifier ~ "'").rows
                if state is not none else [] %}
            {% if not rows %}
                {% do exceptions.raise_compiler_error(
                    "Incremental table " ~ relation ~ " has no recorded settings (built outside incremental mode"
                    ~ " or by an older version of crm_retention), so an incremental run cannot know what shaped it."
                    ~ " Rebuild it once with `dbt build --full-refresh`.") %}
            {% endif %}
            {% set recorded = fromjson(rows[0][0]) %}
            {% for name, value in crm_retention.incremental_settings(crm_retention.incremental_meta(table.node).get('settings', [])).items() %}
                {% set old = recorded.get(name) %}
                {% if tojson(old, sort_keys=true) != tojson(value, sort_keys=true) %}
                    {% do exceptions.raise_compiler_error(
                        "Setting " ~ name ~ " changed since incremental table " ~ relation ~ " was built: it was "
                        ~ tojson(old) ~ ", it is now " ~ tojson(value) ~ ". Its rows were computed with the old value;"
                        ~ " appending rows computed with the new one would mix the two. Rebuild with"
                        ~ " `dbt build --full-refresh`, or set " ~ name ~ " back to " ~ tojson(old) ~ ".") %}
                {% endif %}
            {% endfor %}
        {% endif %}
    {% endfor %}
    {{ return('') }}
{% endmacro %}

{#-
    The package's incremental models (with `selected_only`, those the run selected), each with its
    relation (wherever the host puts it) and its state table.
-#}
{% macro _incremental_nodes(selected_only=false) %}
    {% set found = [] %}
    {% for node in graph.nodes.values()
        if node.resource_type == 'model' and node.package_name == 'crm_retention'
        and node.config.materialized == 'incremental' and (not selected_only or node.unique_id in selected_resources) %}
        {% set relation = api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) %}
        {% do found.append({'node': node, 'relation': relation, 'state': crm_retention.state_relation(relation)}) %}
    {% endfor %}
    {{ return(found) }}
{% endmacro %}
