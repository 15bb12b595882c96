{#-
    De-duplication of raw rows: the latest version of each key survives (version_rank 1).

    Emits four CTEs, the last named `versioned`: the parsed rows of `relation` (a raw table or a
    CTE) with a version_rank. `key_column` names the parsed key among `parsed_columns` (a list of
    select expressions over the raw columns) and `raw_key` is the raw key's expression. The
    versions of one key rank by the later updated_at, then the later `tie_break` (the raw text
    of a parsed column, e.g. raw_ordered_at), then the larger `raw_values` text, so every engine
    keeps the same row.

    Only keys with several rows are ranked: one grouping finds them, the window sorts just
    their rows, and every other row is parsed once, in a single pass over the raw rows, without
    sharing an intermediate result of millions of rows between CTEs. Rows with a null key keep
    version_rank 1 (they are rejected for the missing key). The rows are split from the repeated
    keys by joins, not by `[not] in (select ...)`: a left anti-join and an inner join are hash
    joins on every engine, where `not in` is a null-aware anti-join that PostgreSQL rescans per
    row once the keys outgrow work_mem and Spark plans as a nested loop.
-#}
{% macro latest_version_ctes(relation, key_column, raw_key, parsed_columns, tie_break, raw_values) %}
{%- set key = crm_retention.raw_text(raw_key) -%}
{%- set columns = parsed_columns | join(',\n        ') -%}
{%- set order_by = 'updated_at desc nulls last, ' ~ crm_retention.raw_text(tie_break) ~ ' desc nulls last, ' ~ raw_values ~ ' desc' -%}
repeated_keys as (

    select {{ key }} as version_key
    from {{ relation }}
    where {{ key }} is not null
    group by {{ key }}
    having count(*) > 1

),

single_versions as (

    select
        {{ columns }},
        1 as version_rank
    from {{ relation }}
    left join repeated_keys
        on {{ key }} = repeated_keys.version_key
    -- No match: a key with one row, or a null key (which never joins).
    where repeated_keys.version_key is null

),

repeated_versions as (

    select
        {{ columns }}
    from {{ relation }}
    inner join repeated_keys
        on {{ key }} = repeated_keys.version_key

),

versioned as (

    select * from single_versions

    union all

    select
        *,
        row_number() over (partition by {{ key_column }} order by {{ order_by }}) as version_rank
    from repeated_versions

)
{% endmacro %}
