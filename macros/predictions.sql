{#-
    Whether the predictive models (models/intermediate/predictions, dbt Python models) run in this
    build, and if not, why. dbt-duckdb runs Python models in its own process; dbt-postgres has no
    Python models, and dbt-spark runs them only on a Databricks or Dataproc cluster, not in a
    local session. Elsewhere, and with crm_using_predictions: false, the Python models are
    disabled and the prediction columns stay null. dbt_project.yml repeats this test in the
    predictions folder's +enabled, where no macro can be called: change the two together.
-#}
{% macro predictions_status() %}
    {% set adapters = ['duckdb'] %}
    {% if not crm_retention.get_flag('crm_using_predictions', true) %}
        {{ return({'enabled': false, 'reason': 'crm_using_predictions is false'}) }}
    {% elif target.type not in adapters %}
        {{ return({
            'enabled': false,
            'reason': 'the ' ~ target.type ~ ' adapter does not run the package\'s Python models (dbt-duckdb does)',
        }) }}
    {% endif %}
    {{ return({'enabled': true, 'reason': none}) }}
{% endmacro %}

{#-
    Called while crm__clv_model runs: one log line when predictions are off, and a warning when
    they are on but the fit gives none (the fit's own note says why).
-#}
{% macro report_predictions_status() %}
    {% if not execute %}
        {{ return('') }}
    {% endif %}
    {% set status = crm_retention.predictions_status() %}
    {% if not status.enabled %}
        {{ log('crm_retention: predictions are off because ' ~ status.reason ~ '; the prediction columns of crm__clv, crm__customers and crm__at_risk_customers are null.', info=true) }}
        {{ return('') }}
    {% endif %}
    {% set fit = ref('int_crm__clv_model_fit') %}
    {% if adapter.get_relation(fit.database, fit.schema, fit.identifier) is none %}
        {{ return('') }}
    {% endif %}
    {% set result = run_query('select is_converged, fit_note from ' ~ fit) %}
    {% if result.rows | length == 1 and not result.rows[0][0] %}
        {% do exceptions.warn(
            'crm_retention: the predictive models did not converge (' ~ result.rows[0][1] ~ '); '
            ~ 'the prediction columns that need them are null (docs/definitions.md, "Predictive CLV").'
        ) %}
    {% endif %}
{% endmacro %}
