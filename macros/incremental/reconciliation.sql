{#-
    The reconciliation after an incremental base run wrote (its post-hook): the base table must
    now hold one live row per raw row, with the same change times. A difference means raw rows
    were deleted, or arrived or changed with a change time older than the lookback, where the
    run did not look: the run fails, naming the fix, before any table downstream reads the base
    table. Two scans, no join: cheap enough for every run.
-#}

{#-
    A raw row's change time: its updated_at, or else its own timestamp `own_time`, parsed from the
    raw columns; `texts` may name columns that hold their trimmed texts (raw_text), so the parse
    reads a name instead of spelling out the trim.
-#}
{% macro raw_change_time(raw, own_time, texts={}) -%}
    coalesce(
        {{- crm_retention.parse_timestamp(raw.updated_at, raw.types.updated_at, texts.get('updated_at')).utc }},
        {{ crm_retention.parse_timestamp(raw[own_time], raw.types[own_time], texts.get(own_time)).utc -}}
    )
{%- endmacro %}

{% macro _epoch_seconds(timestamp) -%}
    {{ dbt.datediff("cast('1970-01-01' as " ~ dbt.type_timestamp() ~ ")", timestamp, 'second') }}
{%- endmacro %}

{#- The post-hook of a base table (incremental_by_key), in an incremental run. -#}
{% macro reconcile_raw_rows() %}
    {% if not (execute and is_incremental() and crm_retention.is_incremental_mode()) %}
        {{ return('') }}
    {% endif %}
    {% set table = crm_retention._raw_table() %}
    {%- set query -%}
        select
            raw_rows.row_count,
            stored_rows.row_count,
            raw_rows.change_seconds,
            stored_rows.change_seconds
        from (
            select
                cast(count(*) as {{ dbt.type_bigint() }}) as row_count,
                cast(coalesce(sum({{ crm_retention._epoch_seconds(crm_retention.raw_change_time(table.raw, table.own_time)) }}), 0) as {{ dbt.type_bigint() }}) as change_seconds
            from {{ table.relation }}
        ) as raw_rows
        cross join (
            select
                cast(count(*) as {{ dbt.type_bigint() }}) as row_count,
                cast(coalesce(sum({{ table.stored_seconds }}), 0) as {{ dbt.type_bigint() }}) as change_seconds
            from {{ this }}
            where {{ crm_retention.is_live_row() }}
        ) as stored_rows
    {%- endset -%}
    {% set row = run_query(query).rows[0] %}
    {% if row[0] != row[1] or row[2] != row[3] %}
        {% do exceptions.raise_compiler_error(
            "Incremental table " ~ this ~ " does not match the raw table " ~ table.relation ~ " outside the rows this run re-read: "
            ~ row[0] ~ " raw rows, " ~ row[1] ~ " stored" ~ (" (same count, other change times)" if row[0] == row[1] else "")
            ~ ". Raw rows were deleted, or arrived or changed with a change time older than crm_incremental_lookback_days ("
            ~ crm_retention.get_incremental_lookback_days() ~ " days before the newest change). Run once with"
            ~ " `--vars '{crm_incremental_full_check: true}'` (every key compared; deleted keys leave the marts), or"
            ~ " `dbt build --full-refresh`.") %}
    {% endif %}
    {{ return('') }}
{% endmacro %}
