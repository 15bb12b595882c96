{#-
    Kaplan-Meier estimate of the time from a customer's first to their second order day
    (docs/definitions.md "Time to second order"): survival_rate at t is the share of customers
    who have not reordered t days after their first order, customers who have not reordered yet
    censored at the as-of date. The durations are int_crm__customer_second_orders'; the curves
    and columns of crm__survival. The estimator: macros/survival.sql.
-#}
{{ crm_retention.as_of_step() }}

{{ crm_retention.survival_mart('int_crm__customer_second_orders', 'days_since_first_order', 'reordered_customers') }}
