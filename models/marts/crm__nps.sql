{#- Net Promoter Score per period from the optional NPS source (disabled with crm_using_nps: false). -#}
{{ config(enabled=crm_retention.get_flag('crm_using_nps', true)) }}

with

spine as (

    select * from {{ ref('int_crm__period_spine') }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

responses as (

    select responses.*
    from {{ ref('stg_crm__nps_responses') }} as responses
    inner join as_of
        on responses.responded_on <= as_of.as_of_date

),

period_responses as (

    select
        {{ crm_retention.period_start('responded_on') }} as period_start,
        count(*) as responses,
        sum(case when score >= 9 then 1 else 0 end) as promoters,
        sum(case when score between 7 and 8 then 1 else 0 end) as passives,
        sum(case when score <= 6 then 1 else 0 end) as detractors
    from responses
    group by 1

),

final as (

    select
        spine.period_start,
        spine.period_end,
        spine.is_complete_period,
        cast(coalesce(period_responses.responses, 0) as {{ dbt.type_bigint() }}) as responses,
        cast(coalesce(period_responses.promoters, 0) as {{ dbt.type_bigint() }}) as promoters,
        cast(coalesce(period_responses.passives, 0) as {{ dbt.type_bigint() }}) as passives,
        cast(coalesce(period_responses.detractors, 0) as {{ dbt.type_bigint() }}) as detractors,
        100 * {{ crm_retention.safe_divide(
            'period_responses.promoters - period_responses.detractors', 'period_responses.responses'
        ) }} as nps
    from spine
    left join period_responses
        on spine.period_start = period_responses.period_start

)

select * from final
