{#-
    Kaplan-Meier survival of the first activity spell (docs/definitions.md "Survival curves"):
    the share of customers still active t days after acquisition, customers still active on the
    as-of date censored there instead of counted as lost. The durations are
    int_crm__customer_first_spells'; one row per curve (overall, each cohort, each segment
    value of crm_segments) and distinct duration. The estimator: macros/survival.sql.
-#}
{{ crm_retention.as_of_step() }}

{{ crm_retention.survival_mart('int_crm__customer_first_spells', 'days_since_acquisition', 'churned_customers') }}
