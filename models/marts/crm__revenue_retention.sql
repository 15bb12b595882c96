{#- Revenue movements and revenue retention per period (SPEC section 4): macros/period_marts.sql. -#}

{{ crm_retention.revenue_retention_by_period() }}
