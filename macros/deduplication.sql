{#-
    The versions of each key of a base model's parsed rows, ranked (dbt-utils' `deduplicate`
    shape: the model names the select as a CTE). Every row of `relation` comes back with
    version_rank (1 for the version that wins) and is_superseded: a version that lost to a
    strictly later updated_at is superseded (the normal state of an append-only or
    change-data-capture loader); one with no strictly later version is an ambiguous duplicate.
    Only the keys with several rows are ranked (a window over a few rows); every other row passes
    with no window, which is most of them. A row with a null in `key_columns` is its own version.
    `relation` is read three times, so it should be a CTE that is not materialised.
-#}
{% macro rank_versions(relation, key_columns, order_by) -%}
    with

    repeated_keys as (

        select {{ key_columns | join(', ') }}
        from {{ relation }}
        where {{ key_columns | join(' is not null and ') }} is not null
        group by {{ key_columns | join(', ') }}
        having count(*) > 1

    )

    select
        {{ relation }}.*,
        1 as version_rank,
        false as is_superseded
    from {{ relation }}
    left join repeated_keys
        on
        {%- for column in key_columns %}
            {% if not loop.first %}and {% endif %}{{ relation }}.{{ column }} = repeated_keys.{{ column }}
        {%- endfor %}
    where repeated_keys.{{ key_columns[0] }} is null

    union all

    select
        *,
        row_number() over (partition by {{ key_columns | join(', ') }} order by {{ order_by }}) as version_rank,
        coalesce(updated_at < max(updated_at) over (partition by {{ key_columns | join(', ') }}), false) as is_superseded
    from {{ relation }}
    where exists (
        select 1 as repeated
        from repeated_keys
        where
        {%- for column in key_columns %}
            {% if not loop.first %}and {% endif %}{{ relation }}.{{ column }} = repeated_keys.{{ column }}
        {%- endfor %}
    )
{%- endmacro %}
