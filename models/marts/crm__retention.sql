{#- Customer retention per period for every customer: macros/retention_marts.sql. -#}

{{ crm_retention.retention_by_period(segmented=false) }}
