{#-
    One row: the validated prediction vars, read by the Python model that scores customers (a
    Python model cannot read vars, and custom config keys are not allowed where dbt 2 reads).
-#}

with

final as (

    select
        cast({{ crm_retention.get_clv_time_unit_days() }} as {{ crm_retention.type_rate() }}) as time_unit_days,
        cast({{ crm_retention.get_clv_horizon_days() }} as {{ crm_retention.type_rate() }}) as horizon_days,
        cast({{ crm_retention.get_clv_annual_discount_rate() }} as {{ crm_retention.type_rate() }})
            as annual_discount_rate

)

select * from final
