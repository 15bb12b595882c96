{#-
    Incremental mode (crm_incremental: true), in one place. A model opts in with one line:

        {{ crm_retention.incremental_by_key('order_id') }}     -- a base table, keyed by a raw id
        {{ crm_retention.incremental_by_customer() }}          -- a customer-grain table

    and, in a customer-grain table, its import CTE keeps the changed customers only:

        select * from {{ ref('int_crm__orders') }}
        {{ crm_retention.changed_customers_only() }}

    What a run recomputes follows from what the tables already hold, never from stamps of the
    current run alone, so any interrupted or partial run followed by a normal run ends equal to a
    full refresh:
    - a base table compares the raw table with itself. It re-reads every key with a raw row
      changed (updated_at, or the row's own timestamp) since its newest stored change minus
      crm_incremental_lookback_days, and replaces all rows of those keys (delete+insert). After
      it writes, a reconciliation compares the raw table with it (number of rows and sum of
      change times); a difference (a raw row deleted, or arrived or updated with a change time
      older than the lookback) fails the run with the fix: one run with
      crm_incremental_full_check: true, which compares every key. A key that left the raw table
      leaves a tombstone: its rows stay, with the rejection reason deleted_from_source, which
      staging, the rejected rows and the reconciliation skip.
    - stg_crm__order_changes (incremental mode only) is an append-only log: for every order key
      the base table rewrote, the customers the order now belongs to and, from the log itself,
      those it belonged to before (a moved, cancelled or deleted order touches its old customer).
    - each customer-grain table records in the state table (below) how far into that log it has
      consumed, and recomputes the customers logged after that point, up to the point its
      upstream table has consumed (so a table never runs ahead of the table it reads). It deletes
      those customers' rows and appends them recomputed, so a customer left with no row is gone.
    - the state table `crm_retention_incremental_state` (target schema) holds one row per
      incremental table: the settings that shape it and how far it has consumed the log. A run
      whose settings differ from those recorded stops before any model writes, naming the
      setting, both values and `dbt build --full-refresh`.
    Outside incremental mode all of this compiles to nothing: the models are plain tables (or
    views) and read no extra model, so their unit tests give the same inputs in both modes.
    The customer steps whose rows move with the as-of date or with every new order (who is a
    customer, customer age, lifecycle, RFM scores, the customer list, CLV, churn events, the
    at-risk list) are views in incremental mode (`as_of_step`); what needs all customers at once
    (the RFM boundaries, the predictive fit and predictions, the period marts) is rebuilt every
    run.
-#}

{% macro is_incremental_mode() %}
    {{ return(crm_retention.get_flag('crm_incremental', false)) }}
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

{#- The run's start (to the microsecond), stamped on the rows a run writes. -#}
{% macro run_started_at_literal() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{# ---------- base tables ---------- #}

{#-
    Config of a base table: a table, or in incremental mode an incremental table whose run
    replaces every row of the keys it re-read. Rows without a key are re-read by every run, so
    the pre-hook drops their previous copies; the post-hooks reconcile the table with the raw
    table `source_name` and record its settings.
-#}
{% macro incremental_by_key(key, source_name) %}
    {% if crm_retention.is_incremental_mode() %}
        {% do crm_retention.check_incremental_settings(model.name) %}
        {% do config(
            materialized='incremental',
            incremental_strategy='delete+insert',
            unique_key=key,
            pre_hook='{% if is_incremental() %}delete from {{ this }} where ' ~ key ~ ' is null{% endif %}',
            post_hook=['{% if is_incremental() %}{{ crm_retention.reconcile_raw_rows("' ~ source_name ~ '") }}{% endif %}']
                + crm_retention._record_state_hooks(),
        ) %}
    {% else %}
        {% do config(materialized='table') %}
    {% endif %}
{% endmacro %}

{#-
    The raw rows an incremental run of a base table re-reads, and the tombstones it writes.
    Returns {'ctes': the base model's first CTEs, changed_raw_rows (read in place of the raw
    table) and, in a full check, full_check_keys (computed once, read by changed_raw_rows and the
    tombstones), 'tombstones': the select of the tombstone rows, or none}. `raw` maps each column
    of the source to its expression over `relation`; `key` is the raw key as trimmed text; a
    row's change time is its updated_at, or else its own timestamp `own_time` (raw_change_time;
    the same columns in {{ this }}). Rows whose change time is missing or does not parse, and rows without a key,
    are few and always re-read. With `skip_unchanged`, a key inside the lookback whose raw rows
    match the stored ones (number of rows and change times, as the full check compares) is left
    alone: the lookback re-reads days of rows to catch late ones, and rewriting the unchanged ones
    would send their customers down every customer-grain table. A key with a row rejected as
    future_timestamp is always re-read (its day may have come). A base table whose rows also
    depend on another table (orders converted with exchange rates) re-reads every key of the
    lookback, so a rate that arrives late still reaches them.
-#}
{% macro incremental_raw_rows(relation, raw, key, stored_key, own_time, skip_unchanged=true) %}
    {%- set changed_at = crm_retention.raw_change_time(raw, own_time) -%}
    {%- set stored_changed_at = 'coalesce(updated_at, ' ~ own_time ~ ')' -%}
    {%- set since = crm_retention._changed_since(stored_changed_at) -%}
    {#-
        The raw key as exported (its spelling) and whether it may not be its own key: a key that
        starts and ends with printable ASCII is its own trimmed text (has_printable_ends); the
        others (padded, blank or null, and any other spelling the trim may change) are few, found
        with their keys by one scan of the raw key column (odd_spellings below).
    -#}
    {%- set raw_key = raw[stored_key] -%}
    {%- set spelling = 'cast(' ~ raw_key ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    {%- if crm_retention.is_numeric_type(raw.types[stored_key]) -%}
        {%- set may_need_trim = raw_key ~ ' is null' -%}
    {%- else -%}
        {%- set may_need_trim = raw_key ~ ' is null or not ' ~ crm_retention.has_printable_ends(spelling) -%}
    {%- endif -%}
    {#- Two selects, so that the change times alone can skip the old row groups. -#}
    {%- set recent_keys -%}
        select coalesce({{ key }}, '') as changed_key
        from {{ relation }}
        where
            {{ changed_at }} is null
            or {{ changed_at }} >= {{ since }}

        union

        select odd_spellings.spelling_key as changed_key
        from odd_spellings
        where odd_spellings.spelling_key = ''
    {%- endset -%}
    {%- set full_check = crm_retention.get_flag('crm_incremental_full_check', false) -%}
    {%- set seconds = crm_retention._epoch_seconds(changed_at) -%}
    {%- set stored_seconds = crm_retention._epoch_seconds(stored_changed_at) -%}
    {#- Every key whose raw rows differ from the stored ones in number or change times. -#}
    {%- set differing_keys -%}
        select
            coalesce(raw_keys.checked_key, stored_keys.checked_key) as checked_key,
            raw_keys.checked_key is null as is_deleted
        from (
            select {{ key }} as checked_key, count(*) as row_count, sum({{ seconds }}) as change_seconds
            from {{ relation }}
            where {{ key }} is not null
            group by {{ key }}
        ) as raw_keys
        full outer join (
            select {{ stored_key }} as checked_key, count(*) as row_count, sum({{ stored_seconds }}) as change_seconds
            from {{ this }}
            where {{ stored_key }} is not null and {{ crm_retention.is_live_row() }}
            group by {{ stored_key }}
        ) as stored_keys
            on raw_keys.checked_key = stored_keys.checked_key
        where
            raw_keys.checked_key is null
            or stored_keys.checked_key is null
            or {{ crm_retention._key_rows_differ('raw_keys', 'stored_keys') }}
    {%- endset -%}
    {%- set ctes -%}
{%- if full_check %}
-- Full check: every key whose raw rows differ from the stored ones (macros/incremental.sql).
full_check_keys as (

    {{ differing_keys | indent(4) }}

),

{% endif -%}
-- Incremental run: the raw rows of the keys to re-read (macros/incremental.sql), every raw
-- column under its own name, so the column expressions (mapped names included) read these
-- rows as they read the raw table.
changed_raw_rows as (

    with

    -- The raw spellings that may not be their own key, with their keys ('' for a blank or null one).
    odd_spellings as (

        select distinct
            {{ spelling }} as spelling,
            coalesce({{ key }}, '') as spelling_key
        from {{ relation }}
        where {{ may_need_trim }}

    ),

    candidate_keys as (

        {{ recent_keys | indent(4) }}
        {%- if full_check %}

        union

        select checked_key as changed_key
        from full_check_keys
        where not is_deleted
        {%- endif %}

    ),

    -- Every raw row of those keys: a row whose spelling is a key is of that key (trimming a
    -- trimmed key changes nothing), as is a row with an odd spelling of one; a row without a
    -- raw key is of the blank key.
    candidate_rows as (

        select raw_table.*
        from {{ relation }} as raw_table
        where {{ spelling }} in (
            select candidate_keys.changed_key
            from candidate_keys

            union all

            select odd_spellings.spelling
            from odd_spellings
            inner join candidate_keys
                on odd_spellings.spelling_key = candidate_keys.changed_key
            where odd_spellings.spelling <> odd_spellings.spelling_key
        )

        union all

        select raw_table.*
        from {{ relation }} as raw_table
        where
            {{ raw_key }} is null
            and exists (select 1 from candidate_keys where candidate_keys.changed_key = '')

    ){% if not skip_unchanged %}

    select * from candidate_rows
    {%- else %},

    -- A candidate key whose raw rows match the stored ones in number and change times is unchanged.
    candidate_stats as (

        select
            coalesce({{ key }}, '') as checked_key,
            count(*) as row_count,
            sum({{ seconds }}) as change_seconds,
            max(case when {{ seconds }} is null then 1 else 0 end) as has_unread_change_time
        from candidate_rows
        group by coalesce({{ key }}, '')

    ),

    stored_stats as (

        select
            {{ stored_key }} as checked_key,
            count(*) as row_count,
            sum({{ stored_seconds }}) as change_seconds,
            -- A row rejected as dated after its build day may be valid now: re-read, never skipped.
            max(case when rejection_reason = '{{ crm_retention.future_reason() }}' then 1 else 0 end) as has_future_row
        from {{ this }}
        where
            {{ stored_key }} in (select candidate_stats.checked_key from candidate_stats)
            and {{ crm_retention.is_live_row() }}
        group by {{ stored_key }}

    ),

    changed_keys as (

        select candidate_stats.checked_key as changed_key
        from candidate_stats
        left join stored_stats
            on candidate_stats.checked_key = stored_stats.checked_key
        where
            stored_stats.checked_key is null
            or candidate_stats.has_unread_change_time = 1
            or stored_stats.has_future_row = 1
            or {{ crm_retention._key_rows_differ('candidate_stats', 'stored_stats') }}

    )

    select candidate_rows.*
    from candidate_rows
    inner join changed_keys
        on coalesce({{ key }}, '') = changed_keys.changed_key
    {%- endif %}

)
    {%- endset -%}
    {%- set tombstones = none -%}
    {%- if full_check -%}
        {%- set tombstones -%}
    select
        {%- for column in adapter.get_columns_in_relation(this) %}
        {% if column.name | lower == 'rejection_reason' -%}
        '{{ crm_retention.deleted_reason() }}' as rejection_reason
        {%- elif column.name | lower == 'processed_at' -%}
        {{ crm_retention.run_started_at_literal() }} as processed_at
        {%- else -%}
        stored.{{ adapter.quote(column.name) }}
        {%- endif %}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ this }} as stored
    inner join full_check_keys
        on stored.{{ stored_key }} = full_check_keys.checked_key
        and full_check_keys.is_deleted
    where {{ crm_retention.is_live_row('stored.rejection_reason') }}
        {%- endset -%}
    {%- endif -%}
    {{ return({'ctes': ctes, 'tombstones': tombstones}) }}
{% endmacro %}

{#-
    Whether a key's raw rows differ from its stored live rows, from their per-key statistics (the
    aliases of two relations with row_count and change_seconds): the full check and the re-read
    lookback compare keys the same way.
-#}
{% macro _key_rows_differ(raw_stats, stored_stats) -%}
    ({{ raw_stats }}.row_count <> {{ stored_stats }}.row_count
    or coalesce({{ raw_stats }}.change_seconds, -1) <> coalesce({{ stored_stats }}.change_seconds, -1))
{%- endmacro %}

{#- A raw row's change time: its updated_at, or else its own timestamp `own_time`, parsed from the raw columns. -#}
{% macro raw_change_time(raw, own_time) -%}
    coalesce({{ crm_retention.parse_timestamp(raw.updated_at, raw.types.updated_at).utc }}, {{ crm_retention.parse_timestamp(raw[own_time], raw.types[own_time]).utc }})
{%- endmacro %}

{#- Not a tombstone: a row of a key still in the raw table. -#}
{% macro is_live_row(reason='rejection_reason') -%}
    coalesce({{ reason }}, '') <> '{{ crm_retention.deleted_reason() }}'
{%- endmacro %}

{% macro _epoch_seconds(timestamp) -%}
    {{ dbt.datediff("cast('1970-01-01' as " ~ dbt.type_timestamp() ~ ")", timestamp, 'second') }}
{%- endmacro %}

{#-
    The change time from which an incremental base run re-reads: its newest stored change (on
    or before the build date, tombstones aside) less the lookback, as a literal read once.
-#}
{% macro _changed_since(stored_changed_at) %}
    {% set fallback = "cast('1900-01-01' as " ~ dbt.type_timestamp() ~ ")" %}
    {% if not execute %}
        {{ return(fallback) }}
    {% endif %}
    {%- set query -%}
        select cast(max({{ stored_changed_at }}) as {{ dbt.type_string() }})
        from {{ this }}
        where
            cast({{ stored_changed_at }} as date) <= {{ crm_retention.current_utc_date() }}
            and {{ crm_retention.is_live_row() }}
    {%- endset -%}
    {% set newest = run_query(query).rows[0][0] %}
    {% if newest is none %}
        {{ return(fallback) }}
    {% endif %}
    {{ return(dbt.dateadd('day', -1 * crm_retention.get_incremental_lookback_days(),
        "cast('" ~ newest ~ "' as " ~ dbt.type_timestamp() ~ ")")) }}
{% endmacro %}

{#-
    The reconciliation after an incremental base run wrote (its post-hook): the base table must
    now hold one live row per raw row, with the same change times. A difference means raw rows
    were deleted, or arrived or changed with a change time older than the lookback, where the
    run did not look: the run fails, naming the fix, before any table downstream reads the base
    table. Two scans, no join: cheap enough for every run. `source_name` is the raw table.
-#}
{% macro reconcile_raw_rows(source_name) %}
    {% if not (execute and crm_retention.is_incremental_mode()) %}
        {{ return('') }}
    {% endif %}
    {% set relation = source('crm', source_name) %}
    {% set specs = crm_retention.get_orders_columns() if source_name == 'orders' else crm_retention.get_customers_columns() %}
    {% set raw = crm_retention.raw_columns(relation, specs, source_name) %}
    {% set own_time = {'orders': 'ordered_at', 'customers': 'created_at'}[source_name] %}
    {% set changed_at = crm_retention.raw_change_time(raw, own_time) %}
    {%- set query -%}
        select
            raw_rows.row_count,
            stored_rows.row_count,
            raw_rows.change_seconds,
            stored_rows.change_seconds
        from (
            select
                cast(count(*) as {{ dbt.type_bigint() }}) as row_count,
                cast(coalesce(sum({{ crm_retention._epoch_seconds(changed_at) }}), 0) as {{ dbt.type_bigint() }}) as change_seconds
            from {{ relation }}
        ) as raw_rows
        cross join (
            select
                cast(count(*) as {{ dbt.type_bigint() }}) as row_count,
                cast(coalesce(sum({{ crm_retention._epoch_seconds('coalesce(updated_at, ' ~ own_time ~ ')') }}), 0) as {{ dbt.type_bigint() }}) as change_seconds
            from {{ this }}
            where {{ crm_retention.is_live_row() }}
        ) as stored_rows
    {%- endset -%}
    {% set row = run_query(query).rows[0] %}
    {% if row[0] != row[1] or row[2] != row[3] %}
        {% do exceptions.raise_compiler_error(
            "Incremental table " ~ this ~ " does not match the raw table " ~ relation ~ " outside the rows this run re-read: "
            ~ row[0] ~ " raw rows, " ~ row[1] ~ " stored" ~ (" (same count, other change times)" if row[0] == row[1] else "")
            ~ ". Raw rows were deleted, or arrived or changed with a change time older than crm_incremental_lookback_days ("
            ~ crm_retention.get_incremental_lookback_days() ~ " days before the newest change). Run once with"
            ~ " `--vars '{crm_incremental_full_check: true}'` (every key compared; deleted keys leave the marts), or"
            ~ " `dbt build --full-refresh`.") %}
    {% endif %}
    {{ return('') }}
{% endmacro %}

{# ---------- customer-grain tables ---------- #}

{#-
    Config of a customer-grain table: `full_build` materialization outside incremental mode; in
    incremental mode an appended table whose run first deletes the changed customers' rows.
-#}
{% macro incremental_by_customer(full_build='table') %}
    {% if crm_retention.is_incremental_mode() %}
        {% do crm_retention.check_incremental_settings(model.name) %}
        {% do config(
            materialized='incremental',
            incremental_strategy='append',
            pre_hook='{% if is_incremental() %}delete from {{ this }} where customer_id in ('
                ~ '{{ crm_retention.changed_customers() }}){% endif %}',
            post_hook=crm_retention._record_state_hooks(),
        ) %}
    {% else %}
        {% do config(materialized=full_build) %}
    {% endif %}
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
    The upstream incremental table a customer-grain table reads, and so the point of the order
    log up to which it may consume: int_crm__orders reads the log itself (all of it); the others
    read int_crm__orders or a table built from it, and go no further than it has consumed.
-#}
{% macro _upstream_of(model_name) %}
    {{ return({
        'int_crm__orders': none,
        'int_crm__customer_spells': 'int_crm__orders',
        'int_crm__customer_periods': 'int_crm__orders',
        'int_crm__customer_cohorts': 'int_crm__orders',
        'int_crm__customer_purchase_summaries': 'int_crm__orders',
        'int_crm__customer_order_gaps': 'int_crm__orders',
    }.get(model_name)) }}
{% endmacro %}

{#- How far into the order log a table's rows reflect (a subquery: null before it is recorded). -#}
{% macro _consumed_through(model_name) -%}
    (select consumed_through from {{ crm_retention.state_relation() }} where model_name = '{{ model_name }}')
{%- endmacro %}

{#- The point up to which the current run of this table consumes the order log. -#}
{% macro _consume_until() -%}
    {%- set upstream = crm_retention._upstream_of(model.name) -%}
    {%- if upstream -%}
        {{ crm_retention._consumed_through(upstream) }}
    {%- else -%}
        (select max(processed_at) from {{ ref('stg_crm__order_changes') }})
    {%- endif -%}
{%- endmacro %}

{#-
    The customers this run of a customer-grain table recomputes: those logged after the point
    it has consumed, up to the point it may consume. Without a recorded point (a table built
    before the state was kept) every logged customer.
-#}
{% macro changed_customers() -%}
    select customer_id
    from {{ ref('stg_crm__order_changes') }}
    where
        processed_at > coalesce({{ crm_retention._consumed_through(model.name) }}, cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        and processed_at <= {{ crm_retention._consume_until() }}
{%- endmacro %}

{#-
    Config of the order log (stg_crm__order_changes): in incremental mode only, an append-only
    table; it does not exist otherwise.
-#}
{% macro incremental_log() %}
    {% if crm_retention.is_incremental_mode() %}
        {% do crm_retention.check_incremental_settings(model.name) %}
        {% do config(
            materialized='incremental',
            incremental_strategy='append',
            post_hook=crm_retention._record_state_hooks(),
        ) %}
    {% else %}
        {% do config(enabled=false) %}
    {% endif %}
{% endmacro %}

{#- A where-clause on customer_id that keeps only changed customers in an incremental run. -#}
{% macro changed_customers_only(column='customer_id') -%}
    {%- if crm_retention.is_incremental_mode() -%}
        {#- The ref is rendered in every incremental-mode parse, so dbt orders the models. -#}
        {%- set changes = ref('stg_crm__order_changes') -%}
        {%- if is_incremental() -%}
            where {{ column }} in ({{ crm_retention.changed_customers() }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{# ---------- recorded state and settings ---------- #}

{#- The state table: one row per incremental table (target database and schema). -#}
{% macro state_relation() -%}
    {{ adapter.quote(target.schema) }}.crm_retention_incremental_state
{%- endmacro %}

{#-
    The settings that shape each incremental table, by name. A change of any of them between
    runs would mix old and new rows in one table, so the run stops instead.
-#}
{% macro incremental_settings(model_name) %}
    {% set orders_settings = {
        'crm_orders_grain': crm_retention.get_orders_grain(),
        'crm_orders_columns': var('crm_orders_columns', none),
        'crm_default_order_status': crm_retention.get_default_order_status(),
        'crm_counted_statuses': crm_retention.get_status_lists().counted,
        'crm_ignored_statuses': crm_retention.get_status_lists().ignored,
        'crm_reporting_currency': crm_retention.get_reporting_currency(),
        'crm_using_exchange_rates': crm_retention.get_flag('crm_using_exchange_rates', false),
        'crm_earliest_valid_date': crm_retention.get_earliest_valid_date() | string,
    } %}
    {% set customer_settings = {
        'crm_customers_columns': var('crm_customers_columns', none),
        'crm_segments': crm_retention.get_customer_segment_columns(),
        'crm_earliest_valid_date': crm_retention.get_earliest_valid_date() | string,
    } %}
    {% set order_metric_settings = {
        'crm_period': crm_retention.get_period(),
        'crm_as_of_date': crm_retention.get_as_of_date() | string,
    } %}
    {% do order_metric_settings.update(orders_settings) %}
    {% set spell_settings = {'crm_churn_window_days': crm_retention.get_churn_window_days()} %}
    {% do spell_settings.update(order_metric_settings) %}
    {% set by_model = {
        'base_crm__orders': orders_settings,
        'base_crm__customers': customer_settings,
        'stg_crm__order_changes': orders_settings,
        'int_crm__orders': order_metric_settings,
        'int_crm__customer_periods': order_metric_settings,
        'int_crm__customer_spells': spell_settings,
        'int_crm__customer_cohorts': order_metric_settings,
        'int_crm__customer_purchase_summaries': order_metric_settings,
        'int_crm__customer_order_gaps': order_metric_settings,
    } %}
    {{ return(by_model.get(model_name, {})) }}
{% endmacro %}

{#- The recorded form of a table's settings: JSON with sorted keys. -#}
{% macro _settings_json(model_name) %}
    {{ return(tojson(crm_retention.incremental_settings(model_name), sort_keys=true)) }}
{% endmacro %}

{#-
    The post-hooks of an incremental table: record its settings and how far it has consumed the
    order log. They run after its rows are written, inside the same transaction where the
    adapter has one; a run stopped between the two leaves the older record, so the next run
    recomputes a little more, never less.
-#}
{% macro _record_state_hooks() %}
    {{ return([
        "delete from {{ crm_retention.state_relation() }} where model_name = '{{ model.name }}'",
        '{{ crm_retention.insert_state_row() }}',
    ]) }}
{% endmacro %}

{#- Run by the package's on-run-start hook in incremental mode, before any model (models run in parallel). -#}
{% macro create_state_table() -%}
    {%- if crm_retention.is_incremental_mode() -%}
    create table if not exists {{ crm_retention.state_relation() }} (
        model_name {{ dbt.type_string() }},
        settings {{ dbt.type_string() }},
        consumed_through {{ dbt.type_timestamp() }},
        recorded_at {{ dbt.type_timestamp() }}
    )
    {%- endif -%}
{%- endmacro %}

{% macro insert_state_row() -%}
    {%- set model_name = model.name -%}
    insert into {{ crm_retention.state_relation() }} (model_name, settings, consumed_through, recorded_at)
    select
        '{{ model_name }}',
        '{{ crm_retention._settings_json(model_name) | replace("'", "''") }}',
        {% if model_name.startswith('int_') -%}
        {{ crm_retention._consume_until() }},
        {%- else -%}
        cast(null as {{ dbt.type_timestamp() }}),
        {%- endif %}
        {{ crm_retention.run_started_at_literal() }}
{%- endmacro %}

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
    {% set state = adapter.get_relation(database=target.database, schema=target.schema,
        identifier='crm_retention_incremental_state') %}
    {% set recorded = {} %}
    {% if state is not none %}
        {% for row in run_query('select model_name, settings from ' ~ crm_retention.state_relation()).rows %}
            {% do recorded.update({row[0]: fromjson(row[1])}) %}
        {% endfor %}
    {% endif %}
    {% for node in graph.nodes.values()
        if node.resource_type == 'model' and node.package_name == 'crm_retention'
        and node.config.materialized == 'incremental' and node.name == (model_name or node.name) %}
        {% set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) %}
        {% if relation is not none and relation.is_table %}
            {% set current = crm_retention.incremental_settings(node.name) %}
            {% if node.name not in recorded %}
                {% do exceptions.raise_compiler_error(
                    "Incremental table " ~ relation ~ " has no recorded settings (built outside incremental mode"
                    ~ " or by an older version of crm_retention), so an incremental run cannot know what shaped it."
                    ~ " Rebuild it once with `dbt build --full-refresh`.") %}
            {% endif %}
            {% for name, value in current.items() %}
                {% set old = recorded[node.name].get(name) %}
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
