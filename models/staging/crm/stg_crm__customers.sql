with

customers as (

    select * from {{ ref('base_crm__customers') }}
    where rejection_reason is null

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
        updated_at
    from customers

)

select * from final
