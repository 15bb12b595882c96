{#-
    crm__retention per segment (crm_segments): one row per period, segment name and value. For
    every period and segment name, the values' counts add up to crm__retention's. The SQL is
    crm__retention's, grouped by segment too: macros/retention_marts.sql.
-#}
{{ config(enabled=crm_retention.get_segments() | length > 0) }}

{{ crm_retention.retention_by_period(segmented=true) }}
