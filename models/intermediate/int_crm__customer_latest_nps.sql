{#- Each customer's latest NPS response on or before the as-of date, one row per responding customer. -#}
{{ config(enabled=crm_retention.get_flag('crm_using_nps', true)) }}

with

responses as (

    select * from {{ ref('stg_crm__nps_responses') }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

ranked as (

    select
        responses.customer_id,
        responses.score,
        responses.responded_at,
        row_number() over (
            partition by responses.customer_id
            order by responses.responded_at desc, responses.response_id desc
        ) as response_recency
    from responses
    inner join as_of
        on responses.responded_on <= as_of.as_of_date

),

final as (

    select
        customer_id,
        score as latest_nps_score,
        responded_at as latest_nps_responded_at
    from ranked
    where response_recency = 1

)

select * from final
