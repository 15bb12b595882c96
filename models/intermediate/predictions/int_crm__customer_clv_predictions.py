"""Per-customer predictions from the fitted models: P(alive), expected purchases, order value, CLV.

Time is in units of crm_clv_time_unit_days (the summaries' unit); the horizon H is
crm_clv_horizon_days in those units. With the BG/NBD parameters (r, alpha, a, b) and a customer's
(x, t_x, T):

    P(alive)   = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))
    E[Y(s)]    = P(alive) A(s),    the expected purchase days in the next s units, where
    A(s)       = (a + b + x - 1) / (a - 1) (1 - (1 - z)^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z)),
    z          = s / (alpha + T + s).

A(s) is Fader, Hardie & Lee's (2005, eq. 10) numerator after Euler's transformation
2F1(r+x, b+x; c; z) = (1-z)^(c-r-b-2x) 2F1(c-r-x, c-b-x; c; z) with c = a+b+x-1: their
((alpha+T)/(alpha+T+s))^(r+x) 2F1(r+x, b+x; c; z) becomes (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z), whose
parameters do not grow with x, so a customer with hundreds of purchases neither overflows nor
loses precision. A(s) depends on (x, T) only, so it is evaluated once per distinct pair.

The Gamma-Gamma mean of a purchase day's value given x repeat days of mean m (and the
population mean p gamma / (q - 1) without a repeat day) is

    E[M] = p (gamma + x m) / (p x + q - 1).

predicted_clv discounts each expected purchase at the annual rate d from the as-of date:
a purchase s days later is worth (1 + d)^(-s/365). With k = ln(1 + d) u / 365 per unit (u the
unit in days) and v(s) = exp(-k s),

    predicted_clv = E[M] P(alive) D,   D = integral over [0, H] of v(s) dA(s)
                                         = v(H) A(H) + k * integral over [0, H] of v(s) A(s) ds,

the last integral by 16-point Gauss-Legendre quadrature (A is smooth and concave in s; the
quadrature error is far below a cent). Without a converged BG/NBD fit every prediction is null;
without a converged Gamma-Gamma fit, expected_order_value and predicted_clv. numpy and scipy only.
"""

import numpy as np
from scipy import special

QUADRATURE_NODES = 16
# A within this distance of 1 makes (a + b + x - 1) / (a - 1) a 0/0 limit; it is evaluated at
# this distance instead (relative error of order 1e-9).
A_NEAR_ONE = 1e-7


def read_columns(relation, names):
    """Columns of a dbt.ref() result as numpy arrays (numbers as floats, null as NaN)."""
    if hasattr(relation, "fetchnumpy"):  # DuckDB
        data = relation.project(", ".join(names)).fetchnumpy()
    elif hasattr(relation, "toPandas"):  # PySpark
        data = relation.select(*names).toPandas()
    elif hasattr(relation, "to_pandas"):  # Snowpark
        data = relation.select(*names).to_pandas()
        data.columns = [str(c).lower() for c in data.columns]
    else:
        data = relation
    columns = {}
    for name in names:
        values = np.ma.asarray(data[name])
        if values.dtype.kind in "biuf":
            columns[name] = np.ma.filled(values.astype(float), np.nan)
        else:
            columns[name] = np.ma.filled(values.astype(object), None)
    return columns


def p_alive(params, x, t_x, big_t):
    r, alpha, a, b = params
    log_ratio = np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
    return np.where(x > 0, special.expit(-log_ratio), 1.0)


def purchases_if_alive(params, x, big_t, s):
    """A(s): expected purchase days in the next s units of a customer known to be alive now."""
    r, alpha, a, b = params
    if abs(a - 1.0) < A_NEAR_ONE:
        a = 1.0 + A_NEAR_ONE
    s = np.asarray(s, dtype=float)
    z = s / (alpha + big_t + s)
    c = a + b + x - 1.0
    tail = np.exp((a - 1.0) * np.log1p(-z)) * special.hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
    return c / (a - 1.0) * (1.0 - tail)


def discounted_purchases_if_alive(params, x, big_t, horizon, rate_per_unit):
    """A(H) and D = integral of exp(-k s) dA(s) over [0, H], for arrays x, T of distinct pairs."""
    at_horizon = purchases_if_alive(params, x, big_t, horizon)
    if rate_per_unit == 0.0:
        return at_horizon, at_horizon
    nodes, weights = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
    integral = np.zeros_like(at_horizon)
    for node, weight in zip(nodes, weights):
        s = horizon / 2.0 * (node + 1.0)
        integral += weight * horizon / 2.0 * np.exp(-rate_per_unit * s) * purchases_if_alive(params, x, big_t, s)
    return at_horizon, np.exp(-rate_per_unit * horizon) * at_horizon + rate_per_unit * integral


def expected_order_value(params, x, mean_value):
    p, q, gamma = params
    return p * (gamma + x * np.nan_to_num(mean_value)) / (p * x + q - 1.0)


def score(fit_row, frequency, recency, customer_age, repeat_order_value, *, time_unit_days, horizon_days,
          annual_discount_rate):
    """p_alive, expected_purchases, expected_order_value, predicted_clv; NaN (null) without a converged fit."""
    n = len(frequency)
    nothing = {name: np.full(n, np.nan) for name in ("p_alive", "expected_purchases", "expected_order_value", "predicted_clv")}
    if not fit_row or not fit_row.get("is_bgnbd_converged"):
        return nothing
    bgnbd = tuple(float(fit_row[f"bgnbd_{n}"]) for n in ("r", "alpha", "a", "b"))
    gamma_gamma = tuple(float(fit_row[f"gg_{n}"]) for n in ("p", "q", "gamma"))
    horizon = horizon_days / time_unit_days
    rate_per_unit = np.log1p(annual_discount_rate) * time_unit_days / 365.0

    # The distinct (x, T) pairs, found by one sort of an integer key (x, then T's rank).
    ages, age_index = np.unique(customer_age, return_inverse=True)
    key = frequency.astype(np.int64) * len(ages) + age_index.reshape(-1)
    keys, first, pair_index = np.unique(key, return_index=True, return_inverse=True)
    at_horizon, discounted = discounted_purchases_if_alive(bgnbd, frequency[first], customer_age[first], horizon,
                                                           rate_per_unit)
    pair_index = pair_index.reshape(-1)
    alive = p_alive(bgnbd, frequency, recency, customer_age)
    result = {"p_alive": alive, "expected_purchases": alive * at_horizon[pair_index]}
    if fit_row.get("is_gamma_gamma_converged"):
        order_value = expected_order_value(gamma_gamma, frequency, repeat_order_value)
        result |= {"expected_order_value": order_value, "predicted_clv": order_value * alive * discounted[pair_index]}
    else:
        result |= {"expected_order_value": nothing["expected_order_value"], "predicted_clv": nothing["predicted_clv"]}
    if not all(np.all(np.isfinite(values) & (values >= 0)) for values in result.values()
               if not np.all(np.isnan(values))):
        return nothing
    return result


def model(dbt, session):
    dbt.config(materialized="table")
    columns = read_columns(dbt.ref("int_crm__customer_clv_summaries"),
                           ["customer_id", "frequency", "recency", "customer_age", "repeat_order_value"])
    fit_columns = read_columns(dbt.ref("int_crm__clv_model_fit"), ["is_bgnbd_converged", "is_gamma_gamma_converged"] + [
        f"bgnbd_{n}" for n in ("r", "alpha", "a", "b")] + [f"gg_{n}" for n in ("p", "q", "gamma")])
    fit_row = {name: values[0] for name, values in fit_columns.items() if len(values)}
    predictions = score(
        fit_row, columns["frequency"], columns["recency"], columns["customer_age"], columns["repeat_order_value"],
        time_unit_days=float(dbt.config.get("time_unit_days")),
        horizon_days=float(dbt.config.get("horizon_days")),
        annual_discount_rate=float(dbt.config.get("annual_discount_rate")),
    )
    return {"customer_id": columns["customer_id"], **predictions}
