{#-
    With crm_identity: email, who is whom: one row per customer id (every staged customer record
    and every guest with a staged order) with the person it belongs to. Customer ids whose
    identity_key (normalised email) is equal are one person; an id without an email is a person
    of its own. person_id is the customer_id of the person's first member (earliest created_at,
    or first staged order for a guest; ties by customer_id), so it does not change when later
    members join. int_crm__orders, int_crm__customers and the latest NPS read the person as the
    customer; crm__identity_merges lists the merges.
-#}
{{ config(enabled=crm_retention.get_identity() == 'email') }}

with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

orders as (

    select * from {{ ref('stg_crm__orders') }}

),

first_orders as (

    select
        customer_id,
        min(ordered_at) as first_ordered_at
    from orders
    group by customer_id

),

members as (

    select
        coalesce(customers.customer_id, first_orders.customer_id) as customer_id,
        {{ crm_retention.identity_key('customers.email') }} as identity_key,
        coalesce(customers.created_at, first_orders.first_ordered_at) as first_seen_at
    from customers
    full outer join first_orders
        on customers.customer_id = first_orders.customer_id

),

-- An id without an email is a group of its own, apart from any email spelled like an id.
grouped as (

    select
        customer_id,
        identity_key,
        first_seen_at,
        case
            when identity_key is null then {{ dbt.concat(["'id:'", 'customer_id']) }}
            else {{ dbt.concat(["'email:'", 'identity_key']) }}
        end as group_key
    from members

),

ranked as (

    select
        customer_id,
        identity_key,
        row_number() over (
            partition by group_key
            order by first_seen_at nulls last, customer_id
        ) as member_number,
        count(*) over (partition by group_key) as members,
        first_value(customer_id) over (
            partition by group_key
            order by first_seen_at nulls last, customer_id
            rows between unbounded preceding and unbounded following
        ) as person_id
    from grouped

),

final as (

    select
        customer_id,
        person_id,
        identity_key,
        cast(member_number as {{ dbt.type_int() }}) as member_number,
        cast(members as {{ dbt.type_int() }}) as members
    from ranked

)

select * from final
