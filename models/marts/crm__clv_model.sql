{#-
    The predictive models of this build, one row: the as-of date and units, how many customers
    they saw, the fitted BG/NBD and Gamma-Gamma parameters with their log-likelihoods, and whether
    the fit converged. Where the predictions are scored in SQL with parameters fitted elsewhere
    (crm_clv_parameters), those parameters, no log-likelihood and a null is_converged. Without
    predictions (crm_using_predictions: false, or an adapter that does not run Python models and
    no crm_clv_parameters) the parameters and is_converged are null; fit_note says why.
-#}
{%- set predictions = crm_retention.predictions_status() -%}
{%- set supplied = crm_retention.get_clv_parameters() or {} -%}
{{ crm_retention.report_predictions_status() }}

with

summaries as (

    select * from {{ ref('int_crm__customer_clv_summaries') }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

{% if predictions.route == 'python' %}
fit as (

    select * from {{ ref('int_crm__clv_model_fit') }}
    where fitted_on = 'as_of'

),
{% endif %}

customers as (

    select
        cast(count(*) as {{ dbt.type_bigint() }}) as customers,
        cast(coalesce(sum(case when frequency > 0 then 1 else 0 end), 0) as {{ dbt.type_bigint() }}) as repeat_customers
    from summaries

),

final as (

    select
        as_of.as_of_date,
        cast({{ crm_retention.get_clv_time_unit_days() }} as {{ dbt.type_bigint() }}) as time_unit_days,
        cast({{ crm_retention.get_clv_horizon_days() }} as {{ dbt.type_bigint() }}) as horizon_days,
        customers.customers,
        customers.repeat_customers,
        {% for column in [
            'bgnbd_r', 'bgnbd_alpha', 'bgnbd_a', 'bgnbd_b', 'bgnbd_log_likelihood',
            'gg_p', 'gg_q', 'gg_gamma', 'gg_log_likelihood',
        ] -%}
        {% if predictions.route == 'python' -%}
        cast(fit.{{ column }} as {{ crm_retention.type_rate() }}) as {{ column }},
        {%- elif predictions.route == 'sql' and column.split('_', 1)[1] in supplied -%}
        cast({{ supplied[column.split('_', 1)[1]] }} as {{ crm_retention.type_rate() }}) as {{ column }},
        {%- else -%}
        cast(null as {{ crm_retention.type_rate() }}) as {{ column }},
        {%- endif %}
        {% endfor -%}
        {% if predictions.route == 'python' -%}
        cast(fit.is_converged as {{ dbt.type_boolean() }}) as is_converged,
        cast(fit.fit_note as {{ dbt.type_string() }}) as fit_note
        {%- elif predictions.route == 'sql' -%}
        cast(null as {{ dbt.type_boolean() }}) as is_converged,
        cast('parameters supplied by crm_clv_parameters (fitted elsewhere)' as {{ dbt.type_string() }}) as fit_note
        {%- else -%}
        cast(null as {{ dbt.type_boolean() }}) as is_converged,
        cast('predictions are off: {{ predictions.reason | replace("'", "") }}' as {{ dbt.type_string() }}) as fit_note
        {%- endif %}
    from as_of
    cross join customers
    {% if predictions.route == 'python' -%}
    cross join fit
    {%- endif %}

)

select * from final
