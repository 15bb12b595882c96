{#-
    Who is a customer: every staged customer record, and every guest (a customer_id with a
    staged order but no customer record), one row each, with the record's attributes.
-#}

with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

orders as (

    select * from {{ ref('stg_crm__orders') }}

),

guests as (

    select distinct customer_id
    from orders
    where not has_customer_record

),

final as (

    select
        customer_id,
        email,
        first_name,
        last_name,
        country,
        acquisition_channel,
        {%- for name in crm_retention.get_customer_segment_columns() %}
        {{ name }},
        {%- endfor %}
        created_at,
        true as has_customer_record
    from customers

    union all

    select
        customer_id,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        cast(null as {{ dbt.type_string() }}) as country,
        cast(null as {{ dbt.type_string() }}) as acquisition_channel,
        {%- for name in crm_retention.get_customer_segment_columns() %}
        cast(null as {{ dbt.type_string() }}) as {{ name }},
        {%- endfor %}
        cast(null as {{ dbt.type_timestamp() }}) as created_at,
        false as has_customer_record
    from guests

)

select * from final
