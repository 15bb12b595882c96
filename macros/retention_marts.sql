{#-
    The customer-retention marts, written once for every customer (crm__retention,
    crm__cohort_retention) and per segment (the _by_segment marts, segmented=true). A segmented
    run reads each customer's rows once per segment name (int_crm__customer_segments) and adds
    segment_name and segment_value to every grouping, join and window (macros/segments.sql);
    otherwise the SQL is the same, so the values of a segment name add up to the whole.
-#}

{#-
    Customer retention per period, from the window model (SPEC section 3). Counts come from spell
    events (starts and churns) aggregated per period and accumulated, never from a customer x day
    grid: customers_at_start is the running total of earlier periods' net change, so
    E = S + N + R - C holds by construction and is tested independently.
    At the crm_period grain over int_crm__period_spine, or at `period` over `spine` (a relation or
    CTE of period_spine(period)) for crm__period_rollups.
-#}
{% macro retention_by_period(segmented=false, period=none, spine=none) %}
{%- set key = crm_retention.segment_key(segmented) -%}
{%- set bigint = dbt.type_bigint() -%}

with

spine as (

    select * from {{ spine or ref('int_crm__period_spine') }}

),

spells as (

    select * from {{ ref('int_crm__customer_spells') }}

),

{% if segmented -%}
segments as (

    select * from {{ ref('int_crm__customer_segments') }}

),

-- Every period for every segment value, so a value's quiet periods exist with zeros.
segment_spine as (

    select
        segment_values.segment_name,
        segment_values.segment_value,
        spine.*
    from spine
    cross join (select distinct segment_name, segment_value from segments) as segment_values

),

-- Each spell once per segment name, under the customer's value.
segment_spells as (

    select
        segments.segment_name,
        segments.segment_value,
        spells.*
    from spells
    inner join segments
        on spells.customer_id = segments.customer_id

),
{%- endif %}

starts as (

    select
        {{ key }}
        {{ crm_retention.period_start('spell_started_on', period) }} as period_start,
        sum(case when spell_number = 1 then 1 else 0 end) as new_customers,
        sum(case when spell_number > 1 then 1 else 0 end) as reactivated_customers
    from {{ 'segment_spells' if segmented else 'spells' }}
    group by {{ key }} {{ crm_retention.period_start('spell_started_on', period) }}

),

churns as (

    select
        {{ crm_retention.segment_key(segmented, 'spells') }}
        spine.period_start,
        count(*) as churned_customers
    from {{ 'segment_spells as spells' if segmented else 'spells' }}
    inner join spine
        on {{ crm_retention.period_start('spells.spell_ends_on', period) }} = spine.period_start
    where spells.spell_ends_on <= spine.as_of_date
    group by {{ crm_retention.segment_key(segmented, 'spells') }} spine.period_start

),

-- Customers active on the day before the period who are no longer active on its closing date:
-- their spell churned in the period and no later spell covers the closing date.
churned_from_start as (

    select
        {{ crm_retention.segment_key(segmented, 'spells') }}
        spine.period_start,
        spine.closing_date,
        spells.customer_id
    from {{ 'segment_spells as spells' if segmented else 'spells' }}
    inner join spine
        on {{ crm_retention.period_start('spells.spell_ends_on', period) }} = spine.period_start
    where
        spells.spell_ends_on <= spine.as_of_date
        and spells.spell_started_on < spine.period_start

),

lost_from_start as (

    select
        {{ crm_retention.segment_key(segmented, 'churned_from_start') }}
        churned_from_start.period_start,
        count(*) as lost_customers
    from churned_from_start
    left join spells as later_spells
        on
            churned_from_start.customer_id = later_spells.customer_id
            and later_spells.spell_started_on <= churned_from_start.closing_date
            and later_spells.spell_ends_on > churned_from_start.closing_date
    where later_spells.customer_id is null
    group by {{ crm_retention.segment_key(segmented, 'churned_from_start') }} churned_from_start.period_start

),

movements as (

    select
        {{ crm_retention.segment_key(segmented, 'spine') }}
        spine.period_start,
        spine.period_end,
        spine.is_complete_period,
        cast(coalesce(starts.new_customers, 0) as {{ bigint }}) as new_customers,
        cast(coalesce(starts.reactivated_customers, 0) as {{ bigint }}) as reactivated_customers,
        cast(coalesce(churns.churned_customers, 0) as {{ bigint }}) as churned_customers,
        cast(coalesce(lost_from_start.lost_customers, 0) as {{ bigint }}) as lost_customers
    from {{ 'segment_spine as spine' if segmented else 'spine' }}
    left join starts
        on
            spine.period_start = starts.period_start
            {{- crm_retention.same_segment(segmented, 'spine', 'starts') }}
    left join churns
        on
            spine.period_start = churns.period_start
            {{- crm_retention.same_segment(segmented, 'spine', 'churns') }}
    left join lost_from_start
        on
            spine.period_start = lost_from_start.period_start
            {{- crm_retention.same_segment(segmented, 'spine', 'lost_from_start') }}

),

balances as (

    select
        *,
        cast(coalesce(sum(new_customers + reactivated_customers - churned_customers) over (
            {{ crm_retention.partition_by_segment(segmented) }}
            order by period_start
            rows between unbounded preceding and 1 preceding
        ), 0) as {{ bigint }}) as customers_at_start
    from movements

),

final as (

    select
        period_start,
        period_end,
        is_complete_period,
        {{ key }}
        customers_at_start,
        new_customers,
        reactivated_customers,
        churned_customers,
        customers_at_start + new_customers + reactivated_customers - churned_customers as customers_at_end,
        customers_at_start - lost_customers as retained_customers,
        {{ crm_retention.safe_divide(
            'customers_at_start + reactivated_customers - churned_customers',
            'customers_at_start'
        ) }} as retention_rate,
        {{ crm_retention.safe_divide('churned_customers', 'customers_at_start') }} as churn_rate,
        {{ crm_retention.safe_divide('customers_at_start - lost_customers', 'customers_at_start') }} as survival_rate
    from balances

)

select * from final
{% endmacro %}

{#-
    Acquisition cohorts: customers grouped by the period of their first counted order, followed
    k = 0, 1, ... periods later. Every (cohort, k) cell up to the as-of period exists, zeros
    included; none beyond it. Per segment, a cohort exists for a value when the value has
    customers in it.
    A segmented run reads the customers' segments from `segments_model` (customer_id,
    segment_name, segment_value): int_crm__customer_segments, or int_crm__customer_first_products
    for the first-product cohorts.
-#}
{% macro cohort_retention_by_cell(segmented=false, segments_model='int_crm__customer_segments') %}
{%- set key = crm_retention.segment_key(segmented) -%}
{%- set bigint = dbt.type_bigint() -%}

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

{% if segmented -%}
segments as (

    select * from {{ ref(segments_model) }}

),

-- Each customer's cohort once per segment name, under the customer's value.
segment_cohorts as (

    select
        segments.segment_name,
        segments.segment_value,
        cohorts.*
    from cohorts
    inner join segments
        on cohorts.customer_id = segments.customer_id

),
{%- endif %}

cohort_sizes as (

    select
        {{ crm_retention.segment_key(segmented, 'cohorts') }}
        cohorts.cohort_period,
        spine.period_index as cohort_period_index,
        count(*) as cohort_size
    from {{ 'segment_cohorts as cohorts' if segmented else 'cohorts' }}
    inner join spine
        on cohorts.cohort_period = spine.period_start
    group by {{ crm_retention.segment_key(segmented, 'cohorts') }} cohorts.cohort_period, spine.period_index

),

cells as (

    select
        {{ crm_retention.segment_key(segmented, 'cohort_sizes') }}
        cohort_sizes.cohort_period,
        spine.period_index - cohort_sizes.cohort_period_index as periods_since_acquisition,
        spine.period_start,
        spine.is_complete_period,
        cohort_sizes.cohort_size
    from cohort_sizes
    inner join spine
        on spine.period_index >= cohort_sizes.cohort_period_index

),

activity as (

    select
        {{ crm_retention.segment_key(segmented, 'cohorts') }}
        cohorts.cohort_period,
        customer_periods.period_start,
        count(*) as active_customers,
        sum(customer_periods.orders) as orders,
        sum(customer_periods.net_revenue) as revenue
    from customer_periods
    inner join {{ 'segment_cohorts as cohorts' if segmented else 'cohorts' }}
        on customer_periods.customer_id = cohorts.customer_id
    group by {{ crm_retention.segment_key(segmented, 'cohorts') }} cohorts.cohort_period, customer_periods.period_start

),

-- The period of each cohort customer's latest counted order up to the as-of date (the row
-- without a next period), counted per cohort and period: a customer is active in k or later
-- for every k up to that period's.
last_activity as (

    select
        {{ crm_retention.segment_key(segmented, 'cohorts') }}
        cohorts.cohort_period,
        customer_periods.period_start,
        count(*) as last_active_customers
    from customer_periods
    inner join {{ 'segment_cohorts as cohorts' if segmented else 'cohorts' }}
        on customer_periods.customer_id = cohorts.customer_id
    where customer_periods.next_period_start is null
    group by {{ crm_retention.segment_key(segmented, 'cohorts') }} cohorts.cohort_period, customer_periods.period_start

),

filled as (

    select
        {{ crm_retention.segment_key(segmented, 'cells') }}
        cells.cohort_period,
        cast(cells.periods_since_acquisition as {{ bigint }}) as periods_since_acquisition,
        cells.period_start,
        cells.is_complete_period,
        cast(cells.cohort_size as {{ bigint }}) as cohort_size,
        cast(coalesce(activity.active_customers, 0) as {{ bigint }}) as active_customers,
        cast(coalesce(activity.orders, 0) as {{ bigint }}) as orders,
        cast(coalesce(activity.revenue, 0) as {{ crm_retention.type_money() }}) as revenue,
        coalesce(last_activity.last_active_customers, 0) as last_active_customers
    from cells
    left join activity
        on
            cells.cohort_period = activity.cohort_period
            and cells.period_start = activity.period_start
            {{- crm_retention.same_segment(segmented, 'cells', 'activity') }}
    left join last_activity
        on
            cells.cohort_period = last_activity.cohort_period
            and cells.period_start = last_activity.period_start
            {{- crm_retention.same_segment(segmented, 'cells', 'last_activity') }}

),

unbounded as (

    select
        *,
        cast(sum(last_active_customers) over (
            {{ crm_retention.partition_by_segment(segmented, 'cohort_period') }}
            order by periods_since_acquisition desc
            rows between unbounded preceding and current row
        ) as {{ bigint }}) as unbounded_active_customers
    from filled

),

final as (

    select
        cohort_period,
        periods_since_acquisition,
        period_start,
        is_complete_period,
        {{ key }}
        cohort_size,
        active_customers,
        {{ crm_retention.safe_divide('active_customers', 'cohort_size') }} as retention_rate,
        unbounded_active_customers,
        {{ crm_retention.safe_divide('unbounded_active_customers', 'cohort_size') }} as unbounded_retention_rate,
        orders,
        revenue,
        {{ crm_retention.safe_divide(
            'sum(revenue) over (' ~ crm_retention.partition_by_segment(segmented, 'cohort_period')
            ~ ' order by periods_since_acquisition rows between unbounded preceding and current row)',
            'cohort_size'
        ) }} as cumulative_revenue_per_customer
    from unbounded

)

select * from final
{% endmacro %}

{#-
    Bracket retention (crm__cohort_bracket_retention): a list of period ranges [first, last] in
    periods since acquisition, whole numbers with 0 <= first <= last, e.g. [[1, 1], [2, 3]].
    Empty leaves the mart disabled. Validated like every var (macros/validation.sql).
-#}
{% macro get_retention_brackets() %}
    {% set value = var('crm_retention_brackets', [[1, 1], [2, 3], [4, 6], [7, 12]]) %}
    {% set allowed = 'a list of period ranges [first, last] in periods since acquisition, whole numbers with 0 <= first <= last, e.g. [[1, 1], [2, 3], [4, 6]], or [] for none' %}
    {% if value is none %}
        {{ return([]) }}
    {% endif %}
    {% if value is string or value is mapping or value is not iterable %}
        {{ crm_retention._crm_var_error('crm_retention_brackets', value, allowed) }}
    {% endif %}
    {% set brackets = [] %}
    {% for item in value %}
        {% if item is string or item is mapping or item is not iterable or item | length != 2 %}
            {{ crm_retention._crm_var_error('crm_retention_brackets', value, allowed) }}
        {% endif %}
        {% for bound in item %}
            {% if bound is boolean or not modules.re.fullmatch('[0-9]{1,6}', bound | string | trim) %}
                {{ crm_retention._crm_var_error('crm_retention_brackets', value, allowed) }}
            {% endif %}
        {% endfor %}
        {% set first = item[0] | string | trim | int %}
        {% set last = item[1] | string | trim | int %}
        {% if first > last or [first, last] in brackets %}
            {{ crm_retention._crm_var_error('crm_retention_brackets', value, allowed ~ '; each range once') }}
        {% endif %}
        {% do brackets.append([first, last]) %}
    {% endfor %}
    {{ return(brackets) }}
{% endmacro %}

{#- First-product cohorts: the products with the most customers acquired on them keep their own
    rows, the others are grouped as 'other' (crm_first_product_top_n, a whole number from 1 to 1000). -#}
{% macro get_first_product_top_n() %}
    {% set value = var('crm_first_product_top_n', 10) %}
    {% set text = value | string | trim %}
    {% if value is boolean or not modules.re.fullmatch('[0-9]+', text) or (text | int) < 1 or (text | int) > 1000 %}
        {{ crm_retention._crm_var_error('crm_first_product_top_n', value, 'a whole number of products from 1 to 1000') }}
    {% endif %}
    {{ return(text | int) }}
{% endmacro %}

{#-
    The cohort cells a breakdown of crm__cohort_retention does not add up to (the segment and
    first-product cohort marts): a select of every cell of `cohort_retention` and segment name of
    `segment_names` where the values' cohort sizes, active and unbounded active customers,
    orders or revenue in `breakdown` sum to another number, or are missing. For singular tests.
-#}
{% macro cohort_cells_not_adding_up(cohort_retention, breakdown, segment_names) %}
{%- set counts = ['cohort_size', 'active_customers', 'unbounded_active_customers', 'orders', 'revenue'] %}
    select
        'cohort cell' as failed_grain,
        {{ cohort_retention }}.period_start,
        {{ segment_names }}.segment_name
    from {{ cohort_retention }}
    cross join {{ segment_names }}
    left join (
        select
            cohort_period,
            periods_since_acquisition,
            segment_name,
            {%- for column in counts %}
            sum({{ column }}) as {{ column }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        from {{ breakdown }}
        group by cohort_period, periods_since_acquisition, segment_name
    ) as cell_sums
        on
            {{ cohort_retention }}.cohort_period = cell_sums.cohort_period
            and {{ cohort_retention }}.periods_since_acquisition = cell_sums.periods_since_acquisition
            and {{ segment_names }}.segment_name = cell_sums.segment_name
    where
        cell_sums.cohort_period is null
        {%- for column in counts %}
        or cell_sums.{{ column }} <> {{ cohort_retention }}.{{ column }}
        {%- endfor %}
{% endmacro %}
