-- Lifecycle as of 2024-04-15 with W = 60 and crm_at_risk_days = 30 (see
-- assert_weekly_retention_hand_worked.sql for the spells): c01 reactivated on 04-10; c02, c03
-- and c04 churned (03-03, 03-12, 04-14); c05, a guest, last ordered 36 days ago, so is at risk;
-- c06 is new. Net revenue nets refunds off (c01: 40 + 60 - 10 + 25; c03: 20 + 20 - 20).
with

expected as (

    select
        'c01' as customer_id,
        'reactivated' as lifecycle_status,
        false as is_at_risk,
        3 as orders,
        115.00 as net_revenue,
        true as has_customer_record
    union all select 'c02', 'churned', false, 1, 30.00, true
    union all select 'c03', 'churned', false, 2, 20.00, true
    union all select 'c04', 'churned', false, 1, 50.00, true
    union all select 'c05', 'at_risk', true, 1, 80.00, false
    union all select 'c06', 'new', false, 1, 35.00, true

),

health as (

    select * from {{ ref('shop_customer_health') }}

),

final as (

    select
        coalesce(expected.customer_id, health.customer_id) as customer_id
    from expected
    full outer join health
        on expected.customer_id = health.customer_id
    where
        expected.customer_id is null
        or health.customer_id is null
        or health.lifecycle_status <> expected.lifecycle_status
        or health.is_at_risk <> expected.is_at_risk
        or health.orders <> expected.orders
        or health.net_revenue <> expected.net_revenue
        or health.has_customer_record <> expected.has_customer_record
        or (health.customer_id = 'c05' and health.days_since_last_order <> 36)

)

select * from final
