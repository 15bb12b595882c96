{#-
    Whether the churn window fits the data (docs/configuration.md, "Choosing the churn window"):
    the share of repeat gaps (between a customer's consecutive order days, crm__order_gaps) of
    crm_churn_window_days or longer, each of which the window model counts as a churn and a
    reactivation. Above crm_churn_window_warn_share the build warns, naming the window that
    would keep 90% of the gaps in one spell (one more than the shortest gap_days whose
    cumulative_share reaches 0.9) and the var to set. `model` is crm__order_gaps. As rejected_share, the
    figures are read when the test runs so that the message can carry them; the message is the
    test's one failing row.
-#}
{% test churn_window_fit(model) %}
{{ config(severity='warn') }}
{%- set message = none -%}
{%- if execute and load_relation(model) is not none -%}
    {%- set window_days = crm_retention.get_churn_window_days() -%}
    {%- set warn_share = crm_retention.get_churn_window_warn_share() -%}
    {%- set fit = run_query(
        "select sum(gaps), sum(case when gap_days >= " ~ window_days ~ " then gaps else 0 end),"
        ~ " min(case when cumulative_share >= 0.9 then gap_days end) from " ~ model
    ).rows[0] -%}
    {%- set total = (fit[0] or 0) | int -%}
    {%- set split = (fit[1] or 0) | int -%}
    {%- if total > 0 and split / total > warn_share -%}
        {%- set covering = fit[2] | int -%}
        {%- set message = "crm_retention: " ~ split ~ " of the " ~ total ~ " repeat gaps ("
            ~ ((100 * split / total) | round(1)) ~ "%, above crm_churn_window_warn_share " ~ warn_share
            ~ ") are " ~ window_days ~ " days or longer, and the churn window (crm_churn_window_days: " ~ window_days
            ~ ") counts each as a churn and a reactivation. 90% of repeat gaps are " ~ covering
            ~ " days or shorter: to keep them in one spell, set crm_churn_window_days: " ~ (covering + 1)
            ~ " (and crm_at_risk_days below it); crm__order_gaps has the distribution (docs/configuration.md, \"Choosing the churn window\")." -%}
        {%- do log(message, info=true) -%}
    {%- endif -%}
{%- endif %}
select '{{ (message or "") | replace("'", "''") }}' as message
{% if message is none %}where 1 = 0{% endif %}
{% endtest %}
