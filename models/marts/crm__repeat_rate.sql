{#- Repeat purchasing within each period (SPEC section 4). -#}

with

spine as (

    select * from {{ ref('int_crm__period_spine') }}

),

customer_periods as (

    select * from {{ ref('int_crm__customer_periods') }}

),

period_customers as (

    select
        customer_periods.period_start,
        count(*) as customers,
        sum(customer_periods.orders) as orders,
        sum(case when customer_periods.orders >= 2 then 1 else 0 end) as repeat_customers,
        -- Returning: the customer had a counted order in an earlier period.
        sum(case when customer_periods.previous_period_start is not null then 1 else 0 end) as returning_customers
    from customer_periods
    group by customer_periods.period_start

),

final as (

    select
        spine.period_start,
        spine.period_end,
        spine.is_complete_period,
        cast(coalesce(period_customers.customers, 0) as {{ dbt.type_bigint() }}) as customers,
        cast(coalesce(period_customers.orders, 0) as {{ dbt.type_bigint() }}) as orders,
        cast(coalesce(period_customers.repeat_customers, 0) as {{ dbt.type_bigint() }}) as repeat_customers,
        {{ crm_retention.safe_divide('period_customers.repeat_customers', 'period_customers.customers') }}
            as repeat_customer_rate,
        cast(coalesce(period_customers.returning_customers, 0) as {{ dbt.type_bigint() }}) as returning_customers,
        {{ crm_retention.safe_divide('period_customers.returning_customers', 'period_customers.customers') }}
            as returning_customer_rate,
        {{ crm_retention.safe_divide('period_customers.orders', 'period_customers.customers') }}
            as purchase_frequency
    from spine
    left join period_customers
        on spine.period_start = period_customers.period_start

)

select * from final
