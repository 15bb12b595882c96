{#- Acquisition cohorts, every customer: macros/retention_marts.sql. -#}

{{ crm_retention.cohort_retention_by_cell(segmented=false) }}
