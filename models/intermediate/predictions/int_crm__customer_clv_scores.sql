{#-
    The predictions of int_crm__customer_clv_predictions computed in SQL, for the engines that do
    not run the package's Python models, from the parameters crm_clv_parameters supplies (fitted
    elsewhere, e.g. crm__clv_model of a DuckDB build of the same data). The same formulas
    (docs/definitions.md, "Predictions" and "The next purchase"): P(alive) closed form; A(s) by
    the quadrature of macros/predictions.sql at the horizon H and at the 16 Gauss-Legendre nodes
    of [0, H] that discount it; the Gamma-Gamma mean; the next purchase closed form. Without
    p, q and gamma the value columns are null.
-#}
{{ config(enabled=crm_retention.predictions_status().route == 'sql') }}
{%- set parameters = crm_retention.get_clv_parameters() or {} -%}
{%- set has_spend = 'q' in parameters -%}
{%- set time_unit_days = crm_retention.get_clv_time_unit_days() -%}
{%- set horizon_days = crm_retention.get_clv_horizon_days() -%}
{%- set horizon = horizon_days / time_unit_days -%}
{#- k = ln(1 + d) per unit: a purchase s units ahead is worth exp(-k s). -#}
{%- set rate_per_unit = '(ln(1 + ' ~ crm_retention.get_clv_annual_discount_rate() ~ ') * ' ~ time_unit_days ~ ' / 365.0)' -%}
{%- set nodes = crm_retention.gauss_legendre_16() -%}

with

summaries as (

    select * from {{ ref('int_crm__customer_clv_summaries') }}

),

parameters as (

    select
        {% for name in ['r', 'alpha', 'a', 'b'] -%}
        cast({{ parameters[name] }} as {{ crm_retention.type_rate() }}) as bgnbd_{{ name }},
        {% endfor -%}
        {% for name in ['p', 'q', 'gamma'] -%}
        cast({{ parameters[name] if has_spend else 'null' }} as {{ crm_retention.type_rate() }}) as gg_{{ name }}{{ ',' if not loop.last }}
        {% endfor %}

),

{#- s and the weight of A(s) in D = exp(-k H) A(H) + k * integral of exp(-k s) A(s) over [0, H]. -#}
horizons as (

    select
        0 as node,
        cast({{ horizon }} as {{ crm_retention.type_rate() }}) as horizon,
        cast(exp(-{{ rate_per_unit }} * {{ horizon }}) as {{ crm_retention.type_rate() }}) as discount_weight
    {% for x, w in nodes %}
    union all
    select
        {{ loop.index }} as node,
        cast({{ horizon / 2 * (x + 1) }} as {{ crm_retention.type_rate() }}) as horizon,
        cast({{ rate_per_unit }} * {{ w * horizon / 2 }} * exp(-{{ rate_per_unit }} * {{ horizon / 2 * (x + 1) }})
            as {{ crm_retention.type_rate() }}) as discount_weight
    {% endfor %}

),

pairs as (

    select distinct
        summaries.frequency,
        summaries.customer_age,
        horizons.horizon
    from summaries
    cross join horizons

),

expectations as (

    {{ crm_retention.bgnbd_purchases_if_alive('pairs', 'parameters') }}

),

pair_purchases as (

    select
        expectations.frequency,
        expectations.customer_age,
        sum(case when horizons.node = 0 then expectations.purchases_if_alive end) as at_horizon,
        sum(horizons.discount_weight * expectations.purchases_if_alive) as discounted
    from expectations
    inner join horizons
        on expectations.horizon = horizons.horizon
    group by expectations.frequency, expectations.customer_age

),

scored as (

    select
        summaries.customer_id,
        summaries.frequency,
        summaries.customer_age,
        summaries.repeat_order_value,
        parameters.*,
        {{ crm_retention.bgnbd_p_alive(
            'parameters.bgnbd_r', 'parameters.bgnbd_alpha', 'parameters.bgnbd_a', 'parameters.bgnbd_b',
            'summaries.frequency', 'summaries.recency', 'summaries.customer_age'
        ) }} as p_alive,
        pair_purchases.at_horizon,
        pair_purchases.discounted,
        -- ln((alpha + T + s) / (alpha + T)) for the horizon and for 30 days
        {{ crm_retention._log1p(horizon ~ ' / (parameters.bgnbd_alpha + summaries.customer_age)') }} as log_horizon_ratio,
        {{ crm_retention._log1p((30.0 / time_unit_days) ~ ' / (parameters.bgnbd_alpha + summaries.customer_age)') }}
            as log_month_ratio
    from summaries
    cross join parameters
    inner join pair_purchases
        on
            summaries.frequency = pair_purchases.frequency
            and summaries.customer_age = pair_purchases.customer_age

),

next_purchase as (

    select
        scored.*,
        -- The median time to the next purchase, in units, where p_alive > 1/2 (closed form).
        case when p_alive > 0.5 then
            (bgnbd_alpha + customer_age)
            * (exp(least(-{{ crm_retention._log1p('-0.5 / p_alive') }} / (bgnbd_r + frequency), 700)) - 1)
        end as next_purchase_units
    from scored

),

final as (

    select
        customer_id,
        p_alive,
        p_alive * at_horizon as expected_purchases,
        gg_p * (gg_gamma + frequency * coalesce(repeat_order_value, 0)) / (gg_p * frequency + gg_q - 1) as expected_order_value,
        gg_p * (gg_gamma + frequency * coalesce(repeat_order_value, 0)) / (gg_p * frequency + gg_q - 1) * p_alive * discounted
            as predicted_clv,
        p_alive * -({{ crm_retention._expm1('-(bgnbd_r + frequency) * log_horizon_ratio') }}) as p_purchase_within_horizon,
        p_alive * -({{ crm_retention._expm1('-(bgnbd_r + frequency) * log_month_ratio') }}) as p_purchase_within_30_days,
        case
            when ceil(next_purchase_units * {{ time_unit_days }} * (1 - 1e-12)) <= {{ horizon_days }}
                then cast(greatest(ceil(next_purchase_units * {{ time_unit_days }} * (1 - 1e-12)), 1) as {{ dbt.type_bigint() }})
        end as next_purchase_days
    from next_purchase

)

select * from final
