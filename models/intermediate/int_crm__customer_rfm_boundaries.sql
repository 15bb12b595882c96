{#-
    The four boundaries of each RFM measure, one row per quintile 1-4: the measure's value at the
    end of that quintile. A customer's score is one more than the number of boundaries its value
    is above (int_crm__customer_rfm_scores), so customers with equal values score the same and a
    tie at a boundary lies wholly below it (SPEC section 4).

    Quintile k ends at position k * (size + 1) while k is among the first `larger` quintiles
    (those holding one customer more), at larger + k * size after them, with size = customers / 5
    rounded down and larger = customers mod 5, in the order of the measure (ntile(5)'s
    positions). The group holding that position is found from the groups' sizes (recency by last
    order date, frequency by orders, money by `value_group`), and only the customers of those
    groups are ranked, so no window sorts every customer. Recency orders by the last order date,
    as days since it would: the boundaries do not move with the as-of date.

    A measure named in crm_rfm_cut_points takes its boundaries from there instead: frequency and
    monetary the cut points themselves; recency, in days since the last order, the last order
    date one day before each cut point's distance from the as-of date.
-#}
{%- set cut_points = crm_retention.get_rfm_cut_points() -%}
{%- set measures = [
    {'name': 'recency', 'value': 'last_order_date', 'group': 'last_order_date', 'group_type': 'date'},
    {'name': 'frequency', 'value': 'orders', 'group': 'orders', 'group_type': dbt.type_bigint()},
    {'name': 'monetary', 'value': 'net_revenue', 'group': crm_retention.value_group('net_revenue'), 'group_type': dbt.type_bigint()},
] -%}

-- depends_on: {{ ref('int_crm__as_of') }} (read with recency cut points; the DAG does not depend on a var)

with

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),
{%- if cut_points.get('recency') %}

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),
{%- endif %}

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
{%- set points = cut_points.get(measure.name) %}
{%- if points %}

-- {{ measure.name | capitalize }}: the configured cut points.
{{ measure.name }}_boundaries as (

    {%- for point in points %}
    select
        {{ loop.index }} as quintile,
        {%- if measure.name == 'recency' %}
        {{ dbt.dateadd('day', '-' ~ ((points[4 - loop.index] | int) + 1), 'as_of.as_of_date') }} as boundary_value
    from as_of
        {%- else %}
        cast({{ point }} as {{ crm_retention.type_money() if measure.name == 'monetary' else dbt.type_bigint() }}) as boundary_value
        {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),
{%- else %}

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
        measures.{{ measure.name }}_value as boundary_value,
        measures.{{ measure.name }}_group as group_key,
        row_number() over (
            partition by measures.{{ measure.name }}_group
            order by measures.{{ measure.name }}_value
        ) as position_in_group
    from measures
    where measures.{{ measure.name }}_group in (select {{ measure.name }}_boundary_groups.group_key from {{ measure.name }}_boundary_groups)

),

{{ measure.name }}_boundaries as (

    select
        {{ measure.name }}_boundary_groups.quintile,
        {{ measure.name }}_ranked.boundary_value
    from {{ measure.name }}_boundary_groups
    inner join {{ measure.name }}_ranked
        on
            {{ measure.name }}_boundary_groups.group_key = {{ measure.name }}_ranked.group_key
            and {{ measure.name }}_boundary_groups.position_in_group = {{ measure.name }}_ranked.position_in_group

),
{%- endif %}
{%- endfor %}

final as (

    select
        cast(boundary_positions.quintile as {{ dbt.type_int() }}) as quintile,
        cast(recency_boundaries.boundary_value as date) as recency_last_order_date,
        cast(frequency_boundaries.boundary_value as {{ dbt.type_bigint() }}) as frequency_orders,
        cast(monetary_boundaries.boundary_value as {{ crm_retention.type_money() }}) as monetary_net_revenue
    from boundary_positions
    inner join recency_boundaries
        on boundary_positions.quintile = recency_boundaries.quintile
    inner join frequency_boundaries
        on boundary_positions.quintile = frequency_boundaries.quintile
    inner join monetary_boundaries
        on boundary_positions.quintile = monetary_boundaries.quintile

)

select * from final
