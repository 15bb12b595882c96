{{ config(enabled=crm_retention.get_flag('crm_using_nps', true)) }}

with

responses as (

    select * from {{ ref('base_crm__nps_responses') }}
    where rejection_reason is null

),

final as (

    select
        response_id,
        customer_id,
        responded_at,
        responded_on,
        score,
        response_comment
    from responses

)

select * from final
