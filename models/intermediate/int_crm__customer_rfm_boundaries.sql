{#-
    The four quintile boundaries of each RFM measure, one row per quintile 1-4: the last
    customer of that quintile when the customers with a counted order are ordered as the scores
    order them (SPEC section 4: ntile(5), ties broken by customer_id), with the measure and the
    customer_id of that customer. int_crm__customer_rfm_scores scores each customer by comparing
    it with these twelve customers, so no window sorts every customer.

    A boundary is the customer at a known position: quintile k ends at k * (size + 1) while k is
    among the first `larger` quintiles (those holding one customer more), at larger + k * size
    after them, with size = customers / 5 rounded down and larger = customers mod 5. The group
    holding that position is found from the groups' sizes (recency by last order date, frequency
    by orders, money by `value_group`), and only the customers of those groups are ranked.
    Recency orders by the last order date, as days since it would: the boundaries do not move
    with the as-of date.
-#}
{%- set measures = [
    {'name': 'recency', 'value': 'last_order_date', 'group': 'last_order_date', 'group_type': 'date'},
    {'name': 'frequency', 'value': 'orders', 'group': 'orders', 'group_type': dbt.type_bigint()},
    {'name': 'monetary', 'value': 'net_revenue', 'group': crm_retention.value_group('net_revenue'), 'group_type': dbt.type_bigint()},
] -%}

with

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),

measures as (

    select
        customer_id,
        {%- for measure in measures %}
        {{ measure.value }} as {{ measure.name }}_value,
        cast({{ measure.group }} as {{ measure.group_type }}) as {{ measure.name }}_group{% if not loop.last %},{% endif %}
        {%- endfor %}
    from cohorts

),

customer_count as (

    select
        count(*) as customers,
        floor(cast(count(*) as {{ crm_retention.type_rate() }}) / 5) as quintile_size
    from measures

),

-- The position of the last customer of each quintile 1-4.
boundary_positions as (

    select
        quintiles.quintile,
        cast(case
            when quintiles.quintile <= customer_count.customers - 5 * customer_count.quintile_size
                then quintiles.quintile * (customer_count.quintile_size + 1)
            else customer_count.customers - 5 * customer_count.quintile_size
                + quintiles.quintile * customer_count.quintile_size
        end as {{ dbt.type_bigint() }}) as end_position
    from (
        select 1 as quintile
        union all
        select 2 as quintile
        union all
        select 3 as quintile
        union all
        select 4 as quintile
    ) as quintiles
    cross join customer_count
    where customer_count.customers > 0

),
{%- for measure in measures %}

-- {{ measure.name | capitalize }}: the groups in ascending order, the customers before each.
{{ measure.name }}_starts as (

    select
        group_key,
        customers,
        sum(customers) over (order by group_key rows between unbounded preceding and current row)
        - customers as customers_before
    from (
        select
            {{ measure.name }}_group as group_key,
            count(*) as customers
        from measures
        group by {{ measure.name }}_group
    ) as measure_groups

),

{{ measure.name }}_boundary_groups as (

    select
        boundary_positions.quintile,
        boundary_positions.end_position - {{ measure.name }}_starts.customers_before as position_in_group,
        {{ measure.name }}_starts.group_key
    from boundary_positions
    inner join {{ measure.name }}_starts
        on
            boundary_positions.end_position > {{ measure.name }}_starts.customers_before
            and boundary_positions.end_position
            <= {{ measure.name }}_starts.customers_before + {{ measure.name }}_starts.customers

),

-- Only the customers of the groups holding a boundary are ranked.
{{ measure.name }}_ranked as (

    select
        measures.customer_id,
        measures.{{ measure.name }}_value as boundary_value,
        measures.{{ measure.name }}_group as group_key,
        row_number() over (
            partition by measures.{{ measure.name }}_group
            order by measures.{{ measure.name }}_value, measures.customer_id
        ) as position_in_group
    from measures
    where measures.{{ measure.name }}_group in (select {{ measure.name }}_boundary_groups.group_key from {{ measure.name }}_boundary_groups)

),

{{ measure.name }}_boundaries as (

    select
        {{ measure.name }}_boundary_groups.quintile,
        {{ measure.name }}_ranked.boundary_value,
        {{ measure.name }}_ranked.customer_id
    from {{ measure.name }}_boundary_groups
    inner join {{ measure.name }}_ranked
        on
            {{ measure.name }}_boundary_groups.group_key = {{ measure.name }}_ranked.group_key
            and {{ measure.name }}_boundary_groups.position_in_group = {{ measure.name }}_ranked.position_in_group

),
{%- endfor %}

final as (

    select
        cast(boundary_positions.quintile as {{ dbt.type_int() }}) as quintile,
        recency_boundaries.boundary_value as recency_last_order_date,
        recency_boundaries.customer_id as recency_customer_id,
        cast(frequency_boundaries.boundary_value as {{ dbt.type_bigint() }}) as frequency_orders,
        frequency_boundaries.customer_id as frequency_customer_id,
        cast(monetary_boundaries.boundary_value as {{ crm_retention.type_money() }}) as monetary_net_revenue,
        monetary_boundaries.customer_id as monetary_customer_id
    from boundary_positions
    inner join recency_boundaries
        on boundary_positions.quintile = recency_boundaries.quintile
    inner join frequency_boundaries
        on boundary_positions.quintile = frequency_boundaries.quintile
    inner join monetary_boundaries
        on boundary_positions.quintile = monetary_boundaries.quintile

)

select * from final
