{#-
    The customer-grain side of incremental mode and the state table.
    - stg_crm__order_changes (incremental_log) is an append-only log: for every order key the base
      table rewrote, the customers the order now belongs to and, from the log itself, those it
      belonged to before (a moved, cancelled or deleted order touches its old customer).
    - each customer-grain table (incremental_by_customer) records in the state table how far into
      that log it has consumed, and recomputes the customers logged after that point, up to the
      point its upstream table has consumed (so a table never runs ahead of the table it reads).
      It deletes those customers' rows and appends them recomputed, so a customer left with no
      row is gone.
    - the state table `crm_retention_incremental_state`, beside the incremental tables (in each
      schema the host puts them), holds one row per incremental table there: the settings that
      shape it and how far it has consumed the log.
-#}

{#- The run's start (to the microsecond), stamped on the rows a run writes. -#}
{% macro run_started_at_literal() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#-
    Config of a customer-grain table: `full_build` materialization outside incremental mode; in
    incremental mode an appended table whose run first deletes the changed customers' rows.
    `settings` names the groups of settings that shape it (incremental_settings), `log` the order
    log, and `upstream` the incremental table it reads, so the point of the log up to which it
    may consume (none: it reads the log itself, all of it).
-#}
{% macro incremental_by_customer(settings, log, upstream=none, full_build='table') %}
    {% if crm_retention.is_incremental_mode() %}
        {#- Rendered in every incremental-mode parse, so dbt runs the log first. -#}
        {% do ref(log) %}
        {% do crm_retention._incremental_table({'settings': settings, 'log': log, 'upstream': upstream},
            pre_hook='{% if is_incremental() %}delete from {{ this }} where customer_id in ({{ crm_retention.changed_customers() }}){% endif %}') %}
    {% else %}
        {% do config(materialized=full_build) %}
    {% endif %}
{% endmacro %}

{#-
    The config every incremental table shares: its opt-in's arguments kept in its meta, its state
    recorded after it writes (after `post_hook`), its settings checked when it compiles.
-#}
{% macro _incremental_table(arguments, strategy='append', unique_key=none, pre_hook=[], post_hook=[]) %}
    {% do config(
        materialized='incremental',
        incremental_strategy=strategy,
        unique_key=unique_key,
        meta={'crm_incremental': arguments},
        pre_hook=pre_hook,
        post_hook=post_hook + ['{{ crm_retention.record_state() }}'],
    ) %}
    {% do crm_retention.check_incremental_settings(model.name) %}
{% endmacro %}

{#-
    Config of a customer-grain model whose rows move with the as-of date (customer ages, days
    since the last order) or with any new order (RFM scores against the quintile boundaries, the
    guests among the customers), and that only combines tables a run keeps: a table in full
    builds; in incremental mode a view, the cheap final step, so a run where only the date moved
    rewrites no customer row.
-#}
{% macro as_of_step() %}
    {% do config(materialized='view' if crm_retention.is_incremental_mode() else 'table') %}
{% endmacro %}

{#-
    Config of the order log (stg_crm__order_changes): in incremental mode only, an append-only
    table; it does not exist otherwise.
-#}
{% macro incremental_log(settings) %}
    {% if crm_retention.is_incremental_mode() %}
        {% do crm_retention._incremental_table({'settings': settings}) %}
    {% else %}
        {% do config(enabled=false) %}
    {% endif %}
{% endmacro %}

{#- How far into the order log the table `relation` reflects (a subquery: null before it is recorded). -#}
{% macro _consumed_through(relation) -%}
    (select consumed_through from {{ crm_retention.state_relation(relation) }} where model_name = '{{ relation.identifier }}')
{%- endmacro %}

{#- The point up to which the current run of this table consumes the order log. -#}
{% macro _consume_until() -%}
    {%- set meta = crm_retention.incremental_meta() -%}
    {%- if meta.get('upstream') -%}
        {{ crm_retention._consumed_through(ref(meta.upstream)) }}
    {%- else -%}
        (select max(processed_at) from {{ ref(meta.log) }})
    {%- endif -%}
{%- endmacro %}

{#-
    The customers this run of a customer-grain table recomputes: those logged after the point
    it has consumed, up to the point it may consume. Without a recorded point (a table built
    before the state was kept) every logged customer.
-#}
{% macro changed_customers() -%}
    select customer_id
    from {{ ref(crm_retention.incremental_meta().log) }}
    where
        processed_at > coalesce({{ crm_retention._consumed_through(this) }}, cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        and processed_at <= {{ crm_retention._consume_until() }}
{%- endmacro %}

{#- A where-clause on customer_id that keeps only changed customers in an incremental run. -#}
{% macro changed_customers_only() -%}
    {%- if is_incremental() and crm_retention.is_incremental_mode() -%}
        where customer_id in ({{ crm_retention.changed_customers() }})
    {%- endif -%}
{%- endmacro %}

{#-
    The state table of the incremental table `relation`: beside it, in its database and schema
    (wherever the host's +database, +schema or generate_schema_name put it), one row per
    incremental table there. So builds into two schemas keep apart what each has consumed.
-#}
{% macro state_relation(relation) -%}
    {{ return(api.Relation.create(database=relation.database, schema=relation.schema,
        identifier='crm_retention_incremental_state')) }}
{%- endmacro %}

{#-
    Run by the package's on-run-start hook in incremental mode, before any model (models run in
    parallel): the state table beside each incremental table the run selected, whose schema dbt
    has created by then.
-#}
{% macro create_state_table() -%}
    {%- for state in (crm_retention._incremental_nodes(selected_only=true) if execute else []) | map(attribute='state') | map('string') | unique -%}
    create table if not exists {{ state }} (
        model_name {{ dbt.type_string() }},
        settings {{ dbt.type_string() }},
        consumed_through {{ dbt.type_timestamp() }},
        recorded_at {{ dbt.type_timestamp() }}
    );
    {% endfor -%}
{%- endmacro %}

{#-
    The post-hook of an incremental table: record its settings and how far it has consumed the
    order log. It runs after its rows are written, inside the same transaction where the adapter
    has one; a run stopped before it leaves the older record, so the next run recomputes a little
    more, never less.
-#}
{% macro record_state() -%}
    {%- set meta = crm_retention.incremental_meta() -%}
    {%- set settings = tojson(crm_retention.incremental_settings(meta.get('settings', [])), sort_keys=true) -%}
    delete from {{ crm_retention.state_relation(this) }} where model_name = '{{ this.identifier }}';
    insert into {{ crm_retention.state_relation(this) }} (model_name, settings, consumed_through, recorded_at)
    select
        '{{ this.identifier }}',
        '{{ settings | replace("'", "''") }}',
        {% if meta.get('log') -%}
        {{ crm_retention._consume_until() }},
        {%- else -%}
        cast(null as {{ dbt.type_timestamp() }}),
        {%- endif %}
        {{ crm_retention.run_started_at_literal() }}
{%- endmacro %}
