{#-
    RFM scores as of the as-of date, one row per customer with a counted order: recency (days
    since the last order), frequency (orders) and monetary (net revenue), each scored 1-5, 5 best
    (SPEC section 4). A score is one more than the number of boundaries
    (int_crm__customer_rfm_boundaries: quintile ends, or crm_rfm_cut_points) the customer's value
    is above, so customers with equal values get equal scores; no window sorts every customer. A
    full build makes it a table; in incremental mode it is a view (`as_of_step`), so a run
    recomputes twelve boundary values, not a row per customer.
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

    select -- noqa: LT02
        {%- for boundary in boundaries %}
        max(case when quintile = {{ boundary.quintile }} then {{ boundary.measure.boundary }} end) as {{ boundary.name }}_value{% if not loop.last %},{% endif %} -- noqa: LT02
        {%- endfor %}
    from boundaries

),

-- 1 where the customer's value is above the boundary; a value equal to it stays below.
passed as (

    select
        {%- for boundary in boundaries %}
        {{ crm_retention.passes_boundary('cohorts.' ~ boundary.measure.value, 'boundary_row.' ~ boundary.name ~ '_value') }}
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
