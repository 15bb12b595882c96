{#- Each customer's latest NPS response on or before the as-of date, one row per responding customer. -#}
{{ config(enabled=crm_retention.get_flag('crm_using_nps', true)) }}
{%- set by_person = crm_retention.get_identity() == 'email' %}

with

responses as (

    select * from {{ ref('stg_crm__nps_responses') }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),
{%- if by_person %}

-- crm_identity: email: a person's latest response over all its customer ids.
persons as (

    select * from {{ ref('int_crm__persons') }}

),
{%- endif %}

ranked as (

    select
        {{ 'persons.person_id' if by_person else 'responses.customer_id' }} as customer_id,
        responses.score,
        responses.responded_at,
        row_number() over (
            partition by {{ 'persons.person_id' if by_person else 'responses.customer_id' }}
            order by responses.responded_at desc, responses.response_id desc
        ) as response_recency
    from responses
    inner join as_of
        on responses.responded_on <= as_of.as_of_date
    {%- if by_person %}
    inner join persons
        on responses.customer_id = persons.customer_id
    {%- endif %}

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
