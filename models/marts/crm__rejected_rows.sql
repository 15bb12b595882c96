{#- One row per rejected raw row, from every source, with the reason and the raw values. -#}

with

rejected as (

    select * from {{ ref('stg_crm__rejected_rows') }}

),

final as (

    select
        {{ dbt.concat([
            'source_table',
            "':'",
            'cast(row_number() over (partition by source_table order by raw_key nulls last, rejection_reason, raw_values) as ' ~ dbt.type_string() ~ ')',
        ]) }} as rejected_row_id,
        source_table,
        raw_key,
        rejection_reason,
        raw_values
    from rejected

)

select * from final
