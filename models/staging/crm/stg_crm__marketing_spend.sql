{{ config(enabled=crm_retention.get_flag('crm_using_marketing_spend', true)) }}

with

spend as (

    select * from {{ ref('base_crm__marketing_spend') }}
    where rejection_reason is null

),

final as (

    select
        spent_on,
        channel,
        amount
    from spend

)

select * from final
