{#-
    Bracket retention (docs/definitions.md "Retention flavours"): for each acquisition cohort and
    each period range of crm_retention_brackets (periods since acquisition, e.g. [2, 3]), the
    cohort customers with a counted order in at least one period of the range. A bracket exists
    for a cohort once its first period has begun (up to the as-of period), like the cells of
    crm__cohort_retention; is_complete_bracket says whether its last period is complete.
-#}
{%- set brackets = crm_retention.get_retention_brackets() -%}
{{ config(enabled=brackets | length > 0) }}

with

spine as (

    select * from {{ ref('int_crm__period_spine') }}

),

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),

customer_periods as (

    select * from {{ ref('int_crm__customer_periods') }}

),

brackets as (

    {% for first, last in brackets -%}
    select
        {{ first }} as first_period_since_acquisition,
        {{ last }} as last_period_since_acquisition
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

),

cohort_sizes as (

    select
        cohorts.cohort_period,
        spine.period_index as cohort_period_index,
        count(*) as cohort_size
    from cohorts
    inner join spine
        on cohorts.cohort_period = spine.period_start
    group by cohorts.cohort_period, spine.period_index

),

cells as (

    select
        cohort_sizes.cohort_period,
        cohort_sizes.cohort_size,
        brackets.first_period_since_acquisition,
        brackets.last_period_since_acquisition,
        coalesce(last_periods.is_complete_period, false) as is_complete_bracket
    from cohort_sizes
    cross join brackets
    inner join spine as first_periods
        on first_periods.period_index = cohort_sizes.cohort_period_index + brackets.first_period_since_acquisition
    left join spine as last_periods
        on last_periods.period_index = cohort_sizes.cohort_period_index + brackets.last_period_since_acquisition

),

-- Each customer's periods with a counted order, as periods since their cohort period.
customer_ages as (

    select
        cohorts.customer_id,
        cohorts.cohort_period,
        spine.period_index - cohort_sizes.cohort_period_index as periods_since_acquisition
    from customer_periods
    inner join cohorts
        on customer_periods.customer_id = cohorts.customer_id
    inner join spine
        on customer_periods.period_start = spine.period_start
    inner join cohort_sizes
        on cohorts.cohort_period = cohort_sizes.cohort_period

),

activity as (

    select
        customer_ages.cohort_period,
        brackets.first_period_since_acquisition,
        brackets.last_period_since_acquisition,
        count(distinct customer_ages.customer_id) as active_customers
    from customer_ages
    inner join brackets
        on customer_ages.periods_since_acquisition between brackets.first_period_since_acquisition
            and brackets.last_period_since_acquisition
    group by customer_ages.cohort_period, brackets.first_period_since_acquisition, brackets.last_period_since_acquisition

),

final as (

    select
        cells.cohort_period,
        cast(cells.first_period_since_acquisition as {{ dbt.type_bigint() }}) as first_period_since_acquisition,
        cast(cells.last_period_since_acquisition as {{ dbt.type_bigint() }}) as last_period_since_acquisition,
        cells.is_complete_bracket,
        cast(cells.cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
        cast(coalesce(activity.active_customers, 0) as {{ dbt.type_bigint() }}) as active_customers,
        {{ crm_retention.safe_divide('coalesce(activity.active_customers, 0)', 'cells.cohort_size') }} as retention_rate
    from cells
    left join activity
        on
            cells.cohort_period = activity.cohort_period
            and cells.first_period_since_acquisition = activity.first_period_since_acquisition
            and cells.last_period_since_acquisition = activity.last_period_since_acquisition

)

select * from final
