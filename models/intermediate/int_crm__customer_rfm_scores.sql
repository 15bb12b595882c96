{#-
    RFM scores as of the as-of date, one row per customer with a counted order: recency (days
    since the last order), frequency (orders) and monetary (net revenue), each scored 1-5 by
    quintile, 5 best, ties broken by customer_id (SPEC section 4).

    A score is ntile(5) over all customers, computed from each customer's position in the order
    instead of one window over every customer (which a distributed engine runs on a single
    partition): the position is the number of customers in the lower groups of the measure plus
    the rank inside the customer's own group, a window partitioned by the group. Money is
    grouped by `value_group` (a monotone bucket of its logarithm), so its groups stay few;
    recency and frequency are grouped by their value. The only unpartitioned windows run over
    the groups.
-#}

with

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

-- Each measure oriented so that a larger value is better; the group is a monotone function of it.
measures as (

    select
        cohorts.customer_id,
        -1 * {{ crm_retention.days_between('cohorts.last_order_date', 'as_of.as_of_date') }} as recency_value,
        cohorts.orders as frequency_value,
        cohorts.net_revenue as monetary_value,
        {{ crm_retention.value_group('cohorts.net_revenue') }} as monetary_group
    from cohorts
    cross join as_of

),

recency_groups as (

    select
        recency_value,
        count(*) as customers
    from measures
    group by recency_value

),

frequency_groups as (

    select
        frequency_value,
        count(*) as customers
    from measures
    group by frequency_value

),

monetary_groups as (

    select
        monetary_group,
        count(*) as customers
    from measures
    group by monetary_group

),

group_starts as (

    select
        'recency' as measure,
        cast(recency_value as {{ dbt.type_bigint() }}) as group_key,
        sum(customers) over (order by recency_value rows between unbounded preceding and current row)
        - customers as customers_before
    from recency_groups

    union all

    select
        'frequency' as measure,
        cast(frequency_value as {{ dbt.type_bigint() }}) as group_key,
        sum(customers) over (order by frequency_value rows between unbounded preceding and current row)
        - customers as customers_before
    from frequency_groups

    union all

    select
        'monetary' as measure,
        cast(monetary_group as {{ dbt.type_bigint() }}) as group_key,
        sum(customers) over (order by monetary_group rows between unbounded preceding and current row)
        - customers as customers_before
    from monetary_groups

),

positions as (

    select
        measures.customer_id,
        recency_starts.customers_before + row_number() over (
            partition by measures.recency_value order by measures.customer_id
        ) as recency_position,
        frequency_starts.customers_before + row_number() over (
            partition by measures.frequency_value order by measures.customer_id
        ) as frequency_position,
        monetary_starts.customers_before + row_number() over (
            partition by measures.monetary_group order by measures.monetary_value, measures.customer_id
        ) as monetary_position
    from measures
    inner join group_starts as recency_starts
        on
            recency_starts.measure = 'recency'
            and measures.recency_value = recency_starts.group_key
    inner join group_starts as frequency_starts
        on
            frequency_starts.measure = 'frequency'
            and measures.frequency_value = frequency_starts.group_key
    inner join group_starts as monetary_starts
        on
            monetary_starts.measure = 'monetary'
            and measures.monetary_group = monetary_starts.group_key

),

customer_count as (

    select count(*) as customers from measures

),

scored as (

    select
        positions.customer_id,
        {{ crm_retention.quintile_of_position('positions.recency_position', 'customer_count.customers') }}
            as recency_score,
        {{ crm_retention.quintile_of_position('positions.frequency_position', 'customer_count.customers') }}
            as frequency_score,
        {{ crm_retention.quintile_of_position('positions.monetary_position', 'customer_count.customers') }}
            as monetary_score
    from positions
    cross join customer_count

),

final as (

    select
        customer_id,
        recency_score,
        frequency_score,
        monetary_score,
        {{ dbt.concat([
            'cast(recency_score as ' ~ dbt.type_string() ~ ')',
            'cast(frequency_score as ' ~ dbt.type_string() ~ ')',
            'cast(monetary_score as ' ~ dbt.type_string() ~ ')',
        ]) }} as rfm_score,
        {{ crm_retention.rfm_segment('recency_score', 'frequency_score', 'monetary_score') }} as rfm_segment
    from scored

)

select * from final
