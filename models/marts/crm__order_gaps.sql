{#-
    How long customers take to come back: the distribution of gaps in days between a customer's
    consecutive counted order days, up to the as-of date. It is the evidence for choosing the
    churn window W (crm_churn_window_days, docs/configuration.md "Choosing the churn window"): a gap shorter than W keeps
    a customer in one spell, a gap of W days or more is a churn followed by a reactivation.
-#}

with

customer_gaps as (

    select * from {{ ref('int_crm__customer_order_gaps') }}

),

gap_counts as (

    select
        gap_days,
        cast(sum(gaps) as {{ dbt.type_bigint() }}) as gaps
    from customer_gaps
    group by gap_days

),

cumulative as (

    select
        gap_days,
        gaps,
        sum(gaps) over (order by gap_days rows between unbounded preceding and current row) as cumulative_gaps,
        sum(gaps) over () as total_gaps
    from gap_counts

),

final as (

    select
        cast(gap_days as {{ dbt.type_bigint() }}) as gap_days,
        cast(gaps as {{ dbt.type_bigint() }}) as gaps,
        cast(cumulative_gaps as {{ dbt.type_bigint() }}) as cumulative_gaps,
        {{ crm_retention.safe_divide('cumulative_gaps', 'total_gaps') }} as cumulative_share,
        gap_days >= {{ crm_retention.get_churn_window_days() }} as is_reactivation
    from cumulative

)

select * from final
