{#-
    crm__cohort_retention per segment (crm_segments): one row per segment name and value, cohort
    and k. For every cell and segment name, the values' cohort sizes, active customers, orders
    and revenue add up to crm__cohort_retention's. The SQL is crm__cohort_retention's, grouped
    by segment too: macros/retention_marts.sql.
-#}
{{ config(enabled=crm_retention.get_segments() | length > 0) }}

{{ crm_retention.cohort_retention_by_cell(segmented=true) }}
