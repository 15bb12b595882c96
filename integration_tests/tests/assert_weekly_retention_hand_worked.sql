-- Weekly periods (Monday starts), W = 60 days, as-of 2024-04-15 (the latest counted order).
-- Counted order days: c01 01-02, 02-05, 04-10; c02 01-03; c03 01-10, 01-12; c04 02-14;
-- c05 03-10 (a guest); c06 04-15. Spells: c01 [01-02, 04-05) and [04-10, 06-09);
-- c02 [01-03, 03-03); c03 [01-10, 03-12); c04 [02-14, 04-14); c05 [03-10, 05-09); c06 [04-15, ...).
-- The rejected, ignored and unknown-status orders (c02 03-01 "paid", c04 04-12 cancelled, ...)
-- would each move a churn if they counted.
--   week of 04-01: S = c01, c04, c05; c01 churns 04-05; E = c04, c05.
--   week of 04-08: S = c04, c05; c01 reactivates 04-10; c04 churns on 04-14, the week's last day,
--                  so is not active on it; E = c01, c05; retained = c05.
-- Returns a row for every expectation that does not hold.
with

expected as (

    select
        cast('2024-04-01' as date) as period_start,
        cast('2024-04-07' as date) as period_end,
        3 as customers_at_start,
        0 as new_customers,
        0 as reactivated_customers,
        1 as churned_customers,
        2 as customers_at_end,
        2 as retained_customers,
        2.0 / 3 as retention_rate,
        1.0 / 3 as churn_rate,
        2.0 / 3 as survival_rate
    union all
    select
        cast('2024-04-08' as date),
        cast('2024-04-14' as date),
        2,
        0,
        1,
        1,
        2,
        1,
        1.0,
        0.5,
        0.5

),

retention as (

    select * from {{ ref('crm__retention') }}

),

mismatches as (

    select expected.period_start
    from expected
    left join retention
        on expected.period_start = retention.period_start
    where
        retention.period_start is null
        or retention.period_end <> expected.period_end
        or not retention.is_complete_period
        or retention.customers_at_start <> expected.customers_at_start
        or retention.new_customers <> expected.new_customers
        or retention.reactivated_customers <> expected.reactivated_customers
        or retention.churned_customers <> expected.churned_customers
        or retention.customers_at_end <> expected.customers_at_end
        or retention.retained_customers <> expected.retained_customers
        or abs(retention.retention_rate - expected.retention_rate) > 0.000001
        or abs(retention.churn_rate - expected.churn_rate) > 0.000001
        or abs(retention.survival_rate - expected.survival_rate) > 0.000001

),

spine as (

    -- Sixteen weeks from the week of the first counted order (01-02) to the week of the as-of
    -- date, which is partial.
    select
        count(*) as periods,
        min(period_start) as first_period_start,
        max(period_start) as last_period_start,
        sum(case when is_complete_period then 0 else 1 end) as incomplete_periods
    from retention

),

final as (

    select
        period_start,
        'retention row differs' as failure
    from mismatches
    union all
    select
        last_period_start,
        'period spine differs'
    from spine
    where
        periods <> 16
        or first_period_start <> cast('2024-01-01' as date)
        or last_period_start <> cast('2024-04-15' as date)
        or incomplete_periods <> 1

)

select * from final
