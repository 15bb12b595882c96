{#- Repeat purchasing within each period (SPEC section 4): macros/period_marts.sql. -#}

{{ crm_retention.repeat_rate_by_period() }}
