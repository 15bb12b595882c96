{#-
    The base tables in incremental mode: a run re-reads the raw keys changed since the table's
    newest stored change less crm_incremental_lookback_days and replaces all their rows
    (delete+insert); reconciliation.sql checks the result. A key that left the raw table leaves a
    tombstone (rejection reason deleted_from_source), which staging, the rejected rows and the
    reconciliation skip.
-#}

{#-
    Config of a base table: a table, or in incremental mode an incremental table whose run
    replaces every row of the keys it re-read. `source_name` is its raw table, `key` its key
    column, `own_time` the row's own timestamp (its change time where updated_at is missing),
    `settings` the groups of settings that shape it. Rows without a key are re-read by every run,
    so the pre-hook drops their previous copies; the post-hooks reconcile the table with the raw
    table and record its settings.
-#}
{% macro incremental_by_key(source_name, key, own_time, settings) %}
    {% if crm_retention.is_incremental_mode() %}
        {% do crm_retention._incremental_table(
            {'source_name': source_name, 'key': key, 'own_time': own_time, 'settings': settings},
            strategy='delete+insert',
            unique_key=key,
            pre_hook='{% if is_incremental() %}delete from {{ this }} where ' ~ key ~ ' is null{% endif %}',
            post_hook=['{{ crm_retention.reconcile_raw_rows() }}']) %}
    {% else %}
        {% do config(materialized='table') %}
    {% endif %}
{% endmacro %}

{#-
    The raw table of the current base model, its raw columns, its key as trimmed text, and a
    stored row's change time (its updated_at, or else its own timestamp) and its epoch seconds.
-#}
{% macro _raw_table() %}
    {% set meta = crm_retention.incremental_meta() %}
    {% set relation = source('crm', meta.source_name) %}
    {% set raw = crm_retention.raw_columns(relation, crm_retention.get_source_columns(meta.source_name), meta.source_name) %}
    {% set stored_changed_at = 'coalesce(updated_at, ' ~ meta.own_time ~ ')' %}
    {{ return({'relation': relation, 'raw': raw, 'key': meta.key, 'own_time': meta.own_time,
        'raw_key': crm_retention.raw_text(raw[meta.key], raw.types[meta.key]),
        'stored_changed_at': stored_changed_at, 'stored_seconds': crm_retention._epoch_seconds(stored_changed_at)}) }}
{% endmacro %}

{#-
    The select of the raw rows an incremental run of a base table re-reads, every raw column under
    its own name (so the model's column expressions read them as they read the raw table), plus
    crm_key, crm_spelling and crm_changed_at. Rows whose change time is missing or does not
    parse, and rows without a key, are few and always re-read. A key inside the lookback whose
    raw rows match the stored ones (number of rows and change times, as the full check compares)
    is left alone: the lookback re-reads days of rows to catch late ones, and rewriting the
    unchanged ones would send their customers down every customer-grain table. A key with a row
    rejected as future_timestamp is always re-read (its day may have come), as is every key of
    `also_reread`, the name of a relation of keys (changed_key) whose rows depend on another
    table that changed (orders whose exchange rate changed).
-#}
{% macro changed_raw_rows(also_reread=none) %}
    {%- set table = crm_retention._raw_table() -%}
    {%- set seconds = crm_retention._epoch_seconds('crm_changed_at') -%}
    {#-
        A key that starts and ends with printable ASCII is its own trimmed text
        (has_printable_ends); the others (padded, blank or null, and any other spelling the trim
        may change) are few, found with their keys by one scan of the raw key column.
    -#}
    {%- set may_need_trim = 'crm_spelling is null' -%}
    {%- if not crm_retention.is_numeric_type(table.raw.types[table.key]) -%}
        {%- set may_need_trim = may_need_trim ~ ' or not ' ~ crm_retention.has_printable_ends('crm_spelling') -%}
    {%- endif -%}
    with

    -- Each raw row with its key (trimmed text), its key as exported (spelling) and its change
    -- time, named once. Not materialised: each reader reads the raw table again.
    raw_changes as {{ crm_retention.not_materialized() }} (

        select
            *,
            {{ crm_retention.raw_change_time(table.raw, table.own_time,
                {'updated_at': 'crm_updated_at_text', table.own_time: 'crm_own_time_text'}) }} as crm_changed_at
        from (
            select
                *,
                {{ table.raw_key }} as crm_key,
                cast({{ table.raw[table.key] }} as {{ dbt.type_string() }}) as crm_spelling,
                {{ crm_retention.raw_text(table.raw.updated_at, table.raw.types.updated_at) }} as crm_updated_at_text,
                {{ crm_retention.raw_text(table.raw[table.own_time], table.raw.types[table.own_time]) }} as crm_own_time_text
            from {{ table.relation }}
        ) as raw_texts

    ),

    -- The raw spellings that may not be their own key, with their keys ('' for a blank or null one).
    odd_spellings as (

        select distinct
            crm_spelling as spelling,
            coalesce(crm_key, '') as spelling_key
        from raw_changes
        where {{ may_need_trim }}

    ),

    -- The keys with a row changed within the lookback (in a full check, every key), the blank
    -- key and the keys to re-read anyway: two selects, so that the change times alone can skip
    -- the old row groups.
    candidate_keys as (

        select coalesce(crm_key, '') as changed_key
        from raw_changes
        {%- if not crm_retention.is_full_check() %}
        where
            crm_changed_at is null
            or crm_changed_at >= {{ crm_retention._changed_since(table.stored_changed_at) }}
        {%- endif %}

        union

        select odd_spellings.spelling_key as changed_key
        from odd_spellings
        where odd_spellings.spelling_key = ''
        {%- if also_reread %}

        union

        select {{ also_reread }}.changed_key
        from {{ also_reread }}
        {%- endif %}

    ),

    -- Every raw row of those keys: a row whose spelling is a key is of that key (trimming a
    -- trimmed key changes nothing), as is a row with an odd spelling of one; a row without a
    -- raw key is of the blank key.
    candidate_rows as (

        select raw_changes.*
        from raw_changes
        where raw_changes.crm_spelling in (
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

        select raw_changes.*
        from raw_changes
        where
            raw_changes.crm_spelling is null
            and exists (select 1 as blank from candidate_keys where candidate_keys.changed_key = '')

    ),

    -- A candidate key whose raw rows match the stored ones in number and change times is unchanged.
    candidate_stats as (

        select
            coalesce(crm_key, '') as checked_key,
            count(*) as row_count,
            sum({{ seconds }}) as change_seconds,
            max(case when crm_changed_at is null then 1 else 0 end) as has_unread_change_time
        from candidate_rows
        group by coalesce(crm_key, '')

    ),

    stored_stats as (

        select
            {{ table.key }} as checked_key,
            count(*) as row_count,
            sum({{ table.stored_seconds }}) as change_seconds,
            -- A row rejected as dated after its build day may be valid now: re-read, never skipped.
            max(case when rejection_reason = '{{ crm_retention.future_reason() }}' then 1 else 0 end) as has_future_row
        from {{ this }}
        where
            {{ table.key }} in (select candidate_stats.checked_key from candidate_stats)
            and {{ crm_retention.is_live_row() }}
        group by {{ table.key }}

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
            or candidate_stats.row_count <> stored_stats.row_count
            or coalesce(candidate_stats.change_seconds, -1) <> coalesce(stored_stats.change_seconds, -1)
            {%- if also_reread %}
            or candidate_stats.checked_key in (select {{ also_reread }}.changed_key from {{ also_reread }})
            {%- endif %}

    )

    select candidate_rows.*
    from candidate_rows
    inner join changed_keys
        on coalesce(candidate_rows.crm_key, '') = changed_keys.changed_key
{%- endmacro %}

{#-
    Full check only: the select of the tombstones, a base table's stored live rows whose key left
    the raw table, with the rejection reason deleted_from_source and this run's processed_at.
-#}
{% macro tombstones() %}
    {%- set table = crm_retention._raw_table() -%}
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
    where
        stored.{{ table.key }} is not null
        and {{ crm_retention.is_live_row('stored.rejection_reason') }}
        and not exists (
            select 1 as kept
            from {{ table.relation }} as raw_table
            where {{ table.raw_key }} = stored.{{ table.key }}
        )
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
    {{ return(dbt.dateadd('day', -1 * crm_retention.get_incremental_lookback_days(), "cast('" ~ newest ~ "' as " ~ dbt.type_timestamp() ~ ")")) }}
{% endmacro %}
