-- The shop's raw tables hold one row per kind of dirt the typed path can carry; each is rejected
-- with its reason and nothing else is (worked out by hand from seeds/*.csv). Returns a row for
-- every (source, reason) whose count differs.
with

expected as (

    -- o07 and c01 each have an older version with a strictly earlier updated_at: superseded.
    select 'orders' as source_table, 'superseded_version' as rejection_reason, 1 as rejected_rows
    union all select 'orders', 'missing_order_id', 1
    union all select 'orders', 'missing_customer_id', 1
    union all select 'orders', 'invalid_timestamp', 1
    union all select 'orders', 'future_timestamp', 1
    -- "paid" is not in this shop's status lists, and a missing status is unknown too.
    union all select 'orders', 'unknown_status', 2
    union all select 'orders', 'invalid_amount', 1
    union all select 'orders', 'negative_amount', 1
    union all select 'orders', 'invalid_refunded_amount', 1
    union all select 'customers', 'superseded_version', 1
    union all select 'customers', 'missing_customer_id', 1
    union all select 'customers', 'future_timestamp', 1
    union all select 'nps_responses', 'duplicate_response_id', 1
    union all select 'nps_responses', 'missing_customer_id', 1
    union all select 'nps_responses', 'future_timestamp', 1
    union all select 'nps_responses', 'invalid_score', 2
    union all select 'marketing_spend', 'invalid_timestamp', 1
    union all select 'marketing_spend', 'missing_channel', 1
    union all select 'marketing_spend', 'invalid_amount', 1
    union all select 'marketing_spend', 'negative_amount', 1

),

actual as (

    select
        source_table,
        rejection_reason,
        count(*) as rejected_rows
    from {{ ref('crm__rejected_rows') }}
    group by source_table, rejection_reason

),

final as (

    select
        coalesce(expected.source_table, actual.source_table) as source_table,
        coalesce(expected.rejection_reason, actual.rejection_reason) as rejection_reason,
        expected.rejected_rows as expected_rows,
        actual.rejected_rows as actual_rows
    from expected
    full outer join actual
        on
            expected.source_table = actual.source_table
            and expected.rejection_reason = actual.rejection_reason
    where
        expected.rejected_rows is null
        or actual.rejected_rows is null
        or expected.rejected_rows <> actual.rejected_rows

)

select * from final
