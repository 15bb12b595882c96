{#-
    RFM scores as of the as-of date, one row per customer with a counted order: recency (days
    since the last order), frequency (orders) and monetary (net revenue), each scored 1-5 by
    quintile, 5 best, ties broken by customer_id (SPEC section 4).

    A score is ntile(5) over all customers, computed without a window over every customer (which
    re-sorts them all each run, and which a distributed engine runs on a single partition): a
    customer's quintile is one more than the number of quintile boundaries
    (int_crm__customer_rfm_boundaries, the last customer of quintiles 1-4) it comes after, in the
    order of the measure and then customer_id. A full build makes it a table; in incremental mode
    it is a view (`as_of_step`), so a run recomputes twelve boundary customers, not a row per
    customer.
-#}
{%- set measures = [
    {'name': 'recency', 'value': 'last_order_date', 'boundary': 'recency_last_order_date'},
    {'name': 'frequency', 'value': 'orders', 'boundary': 'frequency_orders'},
    {'name': 'monetary', 'value': 'net_revenue', 'boundary': 'monetary_net_revenue'},
] -%}
{%- set boundaries = [] -%}
{%- for measure in measures %}{% for quintile in range(1, 5) %}{% do boundaries.append({'measure': measure, 'quintile': quintile, 'name': measure.name ~ '_' ~ quintile}) %}{% endfor %}{% endfor -%}
{{ crm_retention.as_of_step() }}

with

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),

boundaries as (

    select * from {{ ref('int_crm__customer_rfm_boundaries') }}

),

-- The twelve boundaries in one row.
boundary_row as (

    select
        count(*) as boundary_customers,
        {%- for boundary in boundaries %}
        max(case when quintile = {{ boundary.quintile }} then {{ boundary.measure.boundary }} end) as {{ boundary.name }}_value,
        max(case when quintile = {{ boundary.quintile }} then {{ boundary.measure.name }}_customer_id end) as {{ boundary.name }}_customer_id{% if not loop.last %},{% endif %}
        {%- endfor %}
    from boundaries

),

-- 1 where the customer passes the boundary (comes after it): later in the measure's order, or equal and
-- later by customer_id.
passed as (

    select
        {%- for boundary in boundaries %}
        {{ crm_retention.passes_boundary('cohorts.' ~ boundary.measure.value, 'cohorts.customer_id', 'boundary_row.' ~ boundary.name ~ '_value', 'boundary_row.' ~ boundary.name ~ '_customer_id') }}
            as {{ boundary.name }}_passed,
        {%- endfor %}
        cohorts.customer_id
    from cohorts
    cross join boundary_row

),

scored as (

    select
        customer_id,
        {%- for measure in measures %}
        1 + {{ measure.name }}_1_passed + {{ measure.name }}_2_passed + {{ measure.name }}_3_passed + {{ measure.name }}_4_passed as {{ measure.name }}_score{% if not loop.last %},{% endif %}
        {%- endfor %}
    from passed

),

final as (

    select
        customer_id,
        cast(recency_score as {{ dbt.type_int() }}) as recency_score,
        cast(frequency_score as {{ dbt.type_int() }}) as frequency_score,
        cast(monetary_score as {{ dbt.type_int() }}) as monetary_score,
        {{ dbt.concat([
            'cast(recency_score as ' ~ dbt.type_string() ~ ')',
            'cast(frequency_score as ' ~ dbt.type_string() ~ ')',
            'cast(monetary_score as ' ~ dbt.type_string() ~ ')',
        ]) }} as rfm_score,
        {{ crm_retention.rfm_segment('recency_score', 'frequency_score', 'monetary_score') }} as rfm_segment
    from scored

)

select * from final
