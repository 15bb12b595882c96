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
    {% set result = run_query('select is_converged, fit_note from ' ~ fit ~ " where fitted_on = 'as_of'") %}
    {% if result.rows | length == 1 and not result.rows[0][0] %}
        {% do exceptions.warn(
            'crm_retention: the predictive models did not converge (' ~ result.rows[0][1] ~ '); '
            ~ 'the prediction columns that need them are null (docs/definitions.md, "Predictive CLV").'
        ) %}
    {% endif %}
{% endmacro %}

{#-
    BG/NBD scoring in SQL, on every engine (exp, ln, sqrt only; no engine has a gamma function
    everywhere). P(alive) is closed form: 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) /
    (alpha + t_x))^(r + x)), from its log-odds. The arguments are SQL expressions.
-#}
{% macro bgnbd_p_alive(r, alpha, a, b, x, t_x, big_t) -%}
    case
        when {{ x }} = 0 then 1.0
        else 1.0 / (1.0 + exp(least(
            ln({{ a }}) - ln({{ b }} + {{ x }} - 1) + ({{ r }} + {{ x }}) * ln(({{ alpha }} + {{ big_t }}) / ({{ alpha }} + {{ t_x }})),
            700
        )))
    end
{%- endmacro %}

{#- ln(1 + v) and exp(w) - 1 without cancellation near 0 (PostgreSQL has neither function). -#}
{% macro _log1p(v) -%}
    case when abs({{ v }}) < 1e-4 then {{ v }} * (1 - {{ v }} * (0.5 - {{ v }} / 3)) else ln(1 + {{ v }}) end
{%- endmacro %}

{% macro _expm1(w) -%}
    case when abs({{ w }}) < 1e-5 then {{ w }} * (1 + {{ w }} * (0.5 + {{ w }} / 6)) else exp({{ w }}) - 1 end
{%- endmacro %}

{#- ln(1 + e^v), finite and exact for any v (no overflow, and no underflow error on PostgreSQL). -#}
{% macro _softplus(v) -%}
    (greatest({{ v }}, 0) + ln(1 + exp(greatest(-abs({{ v }}), -700))))
{%- endmacro %}

{#-
    A(s), the expected purchase days in the next s units of a customer alive now, for each
    distinct (frequency, customer_age, horizon) row of `pairs` (a relation or CTE name), with the
    one-row `parameters` (bgnbd_r, bgnbd_alpha, bgnbd_a, bgnbd_b). A(s) is the mean over the
    dropout probability p ~ Beta(a, b + x) of g(p) = (1 - (1 + p u)^-(r+x)) / p, u = s / (alpha + T)
    (docs/definitions.md), taken by the trapezoidal rule in y = ln(p / (1 - p)) and normalised by
    the same sum, so no beta function is needed. In y the density is smooth with exponential
    tails and g is analytic, so equally spaced points converge geometrically: the window is the
    mode of y +- 20 standard deviations (the variance of y is trigamma(a) + trigamma(b + x), with
    trigamma(v) = 1 / v^2 + trigamma(v + 1) and its asymptotic series at v + 1), in steps of at
    most 0.3 and the standard deviation / 1.5, at most 100,000 points (a below about 0.003 is
    coarser). Agrees with the Python model (the hypergeometric closed form) within 1e-7 relative
    from a, b = 0.01 to 1e6 (tests/python/test_predictions.py).
-#}
{% macro bgnbd_purchases_if_alive(pairs, parameters) %}
    select
        frequency,
        customer_age,
        horizon,
        sum(weight * -({{ crm_retention._expm1('log_survival') }}) / p) / sum(weight) as purchases_if_alive
    from (
        select
            frequency,
            customer_age,
            horizon,
            weight,
            p,
            -purchase_shape * {{ crm_retention._log1p('p_u') }} as log_survival
        from (
            select
                pairs.frequency,
                pairs.customer_age,
                pairs.horizon,
                grid.weight,
                grid.p,
                grid.purchase_shape,
                grid.p * pairs.horizon / (grid.alpha + pairs.customer_age) as p_u
            from (select distinct frequency, customer_age, horizon from {{ pairs }}) as pairs
            inner join (
                select
                    frequency,
                    alpha,
                    purchase_shape,
                    exp(greatest(-{{ crm_retention._softplus('-y') }}, -700)) as p,
                    step * (case when n = 0 or n = points - 1 then 0.5 else 1.0 end) * exp(greatest(
                        a * ({{ crm_retention._softplus('-mode') }} - {{ crm_retention._softplus('-y') }})
                        + beta * ({{ crm_retention._softplus('mode') }} - {{ crm_retention._softplus('y') }}),
                        -700
                    )) as weight
                from (
                    select
                        spec.*,
                        integers.n,
                        spec.low + spec.step * integers.n as y
                    from (
                        select
                            sized.*,
                            sized.mode - 20 * sized.spread as low,
                            40 * sized.spread / (sized.points - 1) as step
                        from (
                            select
                                shapes.*,
                                least(ceil(40 * shapes.spread / least(0.3, shapes.spread / 1.5)) + 1, 100000) as points
                            from (
                                select
                                    frequencies.frequency,
                                    {{ parameters }}.bgnbd_alpha as alpha,
                                    {{ parameters }}.bgnbd_a as a,
                                    {{ parameters }}.bgnbd_b + frequencies.frequency as beta,
                                    {{ parameters }}.bgnbd_r + frequencies.frequency as purchase_shape,
                                    ln({{ parameters }}.bgnbd_a) - ln({{ parameters }}.bgnbd_b + frequencies.frequency) as mode,
                                    sqrt(
                                        {{ crm_retention._trigamma_bound(parameters ~ '.bgnbd_a') }}
                                        + {{ crm_retention._trigamma_bound(parameters ~ '.bgnbd_b + frequencies.frequency') }}
                                    ) as spread
                                from (select distinct frequency from {{ pairs }}) as frequencies
                                cross join {{ parameters }}
                            ) as shapes
                        ) as sized
                    ) as spec
                    inner join ({{ crm_retention.integers(5) }}) as integers
                        on integers.n < spec.points
                ) as points
            ) as grid
                on pairs.frequency = grid.frequency
        ) as terms
    ) as logs
    group by frequency, customer_age, horizon
{% endmacro %}

{% macro _trigamma_bound(v) -%}
    (1.0 / (({{ v }}) * ({{ v }})) + 1.0 / ({{ v }} + 1) + 1.0 / (2 * ({{ v }} + 1) * ({{ v }} + 1))
     + 1.0 / (6 * ({{ v }} + 1) * ({{ v }} + 1) * ({{ v }} + 1)))
{%- endmacro %}
