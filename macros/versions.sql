{#-
    De-duplication of raw rows: the latest version of each key survives (version_rank 1). Only
    keys with several rows are ranked, so the window sorts the few duplicates, not every row of a
    table with millions. Emits three CTEs over `input_cte`, the last named `versioned`; rows with
    a null key keep version_rank 1 (they are rejected for the missing key).
-#}
{% macro latest_version_ctes(input_cte, key, order_by) %}
version_counts as (

    select
        {{ key }},
        count(*) as versions
    from {{ input_cte }}
    where {{ key }} is not null
    group by {{ key }}

),

ranked_versions as (

    select
        {{ input_cte }}.*,
        row_number() over (
            partition by {{ input_cte }}.{{ key }}
            order by {{ order_by }}
        ) as version_rank
    from {{ input_cte }}
    inner join version_counts
        on {{ input_cte }}.{{ key }} = version_counts.{{ key }}
    where version_counts.versions > 1

),

versioned as (

    select
        {{ input_cte }}.*,
        1 as version_rank
    from {{ input_cte }}
    left join version_counts
        on {{ input_cte }}.{{ key }} = version_counts.{{ key }}
    where coalesce(version_counts.versions, 1) = 1

    union all

    select * from ranked_versions

)
{% endmacro %}
