{#-
    The day-grain time spine MetricFlow needs (metric_time), built only with the semantic layer
    (crm_using_semantic_layer). A fixed calendar, not the data's range: MetricFlow joins to it,
    so it must cover any date a query asks for, and it never needs rebuilding.
-#}

with

days as (

    {{ dbt.date_spine(
        'day',
        "cast('2000-01-01' as date)",
        "cast('2051-01-01' as date)",
    ) }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
