{#-
    Whether this build has predictions, and how: `route` is `sql` when crm_clv_parameters
    supplies parameters fitted elsewhere, on any engine (no fit, no backtest: the scoring in SQL,
    int_crm__customer_clv_scores), else `python` where the adapter runs the package's dbt Python
    models (dbt-duckdb: the fit, the scoring and the backtest), none otherwise; `model` is the relation the marts read
    the predictions from, `reason` why there are none. dbt-postgres has no Python models;
    dbt-spark runs them only on a Databricks or Dataproc cluster, not in a local session.
    models/intermediate/predictions/_int_crm__predictions__models.yml repeats the Python test in
    its models' config, where no macro can be called: change the two together.
-#}
{% macro predictions_status() %}
    {% set adapters = ['duckdb'] %}
    {% if not crm_retention.get_flag('crm_using_predictions', true) %}
        {{ return({'enabled': false, 'route': none, 'model': none, 'reason': 'crm_using_predictions is false'}) }}
    {% elif crm_retention.get_clv_parameters() is not none %}
        {{ return({'enabled': true, 'route': 'sql', 'model': 'int_crm__customer_clv_scores', 'reason': none}) }}
    {% elif target.type in adapters %}
        {{ return({'enabled': true, 'route': 'python', 'model': 'int_crm__customer_clv_predictions', 'reason': none}) }}
    {% endif %}
    {{ return({
        'enabled': false, 'route': none, 'model': none,
        'reason': 'the ' ~ target.type ~ ' adapter does not run the package\'s Python models (dbt-duckdb does), and crm_clv_parameters supplies no parameters fitted elsewhere',
    }) }}
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
    {% elif status.route == 'sql' %}
        {{ log('crm_retention: predictions scored in SQL with the parameters of crm_clv_parameters (fitted elsewhere; no fit and no backtest in this build).', info=true) }}
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
    {#- `select distinct` closes the steps whose columns later steps reuse: PostgreSQL would
        otherwise inline each column's whole expression wherever it is used (many times, in the
        case expressions of _log1p and _expm1), which made one demo build take minutes. -#}
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
                select distinct
                    frequency,
                    alpha,
                    purchase_shape,
                    exp(greatest(log_p, -700)) as p,
                    step * (case when n = 0 or n = points - 1 then 0.5 else 1.0 end)
                    * exp(greatest(a * (log_p - mode_log_p) + beta * (log_q - mode_log_q), -700)) as weight
                from (
                    select distinct
                        spec.frequency,
                        spec.alpha,
                        spec.a,
                        spec.beta,
                        spec.purchase_shape,
                        spec.mode_log_p,
                        spec.mode_log_q,
                        spec.points,
                        spec.step,
                        thousands.n * 1000 + units.n as n,
                        -{{ crm_retention._softplus('-(spec.low + spec.step * (thousands.n * 1000 + units.n))') }} as log_p,
                        -{{ crm_retention._softplus('spec.low + spec.step * (thousands.n * 1000 + units.n)') }} as log_q
                    from (
                        select distinct
                            sized.*,
                            sized.mode - 20 * sized.spread as low,
                            40 * sized.spread / (sized.points - 1) as step
                        from (
                            select
                                shapes.*,
                                least(ceil(40 * shapes.spread / least(0.3, shapes.spread / 1.5)) + 1, 100000) as points
                            from (
                                select distinct
                                    frequencies.frequency,
                                    {{ parameters }}.bgnbd_alpha as alpha,
                                    {{ parameters }}.bgnbd_a as a,
                                    {{ parameters }}.bgnbd_b + frequencies.frequency as beta,
                                    {{ parameters }}.bgnbd_r + frequencies.frequency as purchase_shape,
                                    ln({{ parameters }}.bgnbd_a) - ln({{ parameters }}.bgnbd_b + frequencies.frequency) as mode,
                                    -{{ crm_retention._softplus('-(ln(' ~ parameters ~ '.bgnbd_a) - ln(' ~ parameters ~ '.bgnbd_b + frequencies.frequency))') }}
                                        as mode_log_p,
                                    -{{ crm_retention._softplus('ln(' ~ parameters ~ '.bgnbd_a) - ln(' ~ parameters ~ '.bgnbd_b + frequencies.frequency)') }}
                                        as mode_log_q,
                                    sqrt(
                                        {{ crm_retention._trigamma_bound(parameters ~ '.bgnbd_a') }}
                                        + {{ crm_retention._trigamma_bound(parameters ~ '.bgnbd_b + frequencies.frequency') }}
                                    ) as spread
                                from (select distinct frequency from {{ pairs }}) as frequencies
                                cross join {{ parameters }}
                            ) as shapes
                        ) as sized
                    ) as spec
                    {#- point n = 1000 thousands + units: the thousands first, so each frequency meets only
                        the 1,000-row spine blocks it needs. #}
                    inner join ({{ crm_retention.integers(2) }}) as thousands
                        on thousands.n * 1000 < spec.points
                    inner join ({{ crm_retention.integers(3) }}) as units
                        on thousands.n * 1000 + units.n < spec.points
                ) as logs
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

{#- The 16 nodes on [-1, 1] and weights of Gauss-Legendre quadrature (numpy's leggauss(16)), as the Python model uses. -#}
{% macro gauss_legendre_16() %}
    {% set half = [
        [0.09501250983763744, 0.18945061045506864], [0.2816035507792589, 0.18260341504492364],
        [0.45801677765722737, 0.16915651939500265], [0.6178762444026438, 0.1495959888165767],
        [0.755404408355003, 0.12462897125553407], [0.8656312023878318, 0.0951585116824926],
        [0.9445750230732326, 0.062253523938647456], [0.9894009349916499, 0.027152459411754176],
    ] %}
    {% set nodes = [] %}
    {% for x, w in half | reverse %}{% do nodes.append([-x, w]) %}{% endfor %}
    {% for x, w in half %}{% do nodes.append([x, w]) %}{% endfor %}
    {{ return(nodes) }}
{% endmacro %}
