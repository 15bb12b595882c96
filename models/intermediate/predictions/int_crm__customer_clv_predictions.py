"""Per-customer predictions from the fitted models: P(alive), expected purchases, order value, CLV.

Time is in units of crm_clv_time_unit_days (the summaries' unit); the horizon H is
crm_clv_horizon_days in those units. With the BG/NBD parameters (r, alpha, a, b) and a customer's
(x, t_x, T):

    P(alive)   = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)),
    E[Y(s)]    = P(alive) A(s),    the expected purchase days in the next s units, where
    A(s)       = (a + b + x - 1) / (a - 1) (1 - (1 - z)^(r + x) 2F1(r + x, b + x; a + b + x - 1; z)),
    z          = s / (alpha + T + s)

(Fader, Hardie & Lee 2005, eqs. 10 and 11). P(alive) is computed from its log-odds. A(s) is the
mean over the customer's dropout probability p ~ Beta(a, b + x) of (1 - (1 + p u)^-(r+x)) / p,
u = s / (alpha + T), so it lies between 1 - (1 + u)^-(r+x) and (r + x) u. The hypergeometric
term is taken in the form whose series stays bounded as z approaches 1: as printed when
a - 1 >= r + x (a large a, as when dropout hardly varies between customers), otherwise after
Euler's transformation, (1 - z)^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z) (many
purchases). Where that value is not finite, falls outside those bounds, or would lose more than
six digits to the subtraction (a near 1, or b so large that A(s) is tiny beside
(a + b + x - 1) / (a - 1)), A(s) is integrated over p instead (purchases_by_quadrature). A(s)
depends on (x, T) only, so it is evaluated once per distinct pair.

The Gamma-Gamma mean of a purchase day's value given x repeat days of mean m (and the
population mean p gamma / (q - 1) without a repeat day) is

    E[M] = p (gamma + x m) / (p x + q - 1).

predicted_clv discounts each expected purchase at the annual rate d from the as-of date:
a purchase s days later is worth (1 + d)^(-s/365). With k = ln(1 + d) u / 365 per unit (u the
unit in days) and v(s) = exp(-k s),

    predicted_clv = E[M] P(alive) D,   D = integral over [0, H] of v(s) dA(s)
                                         = v(H) A(H) + k * integral over [0, H] of v(s) A(s) ds,

the last integral by 16-point Gauss-Legendre quadrature (A is smooth and concave in s; the
quadrature error is far below a cent).

The next purchase. A customer alive now buys next after an exponential time with their purchase
rate (dropout happens only after a purchase), so with the rate's posterior Gamma(r + x, alpha + T)
the chance of at least one purchase in the next s units is

    P(purchase within s) = P(alive) (1 - ((alpha + T) / (alpha + T + s))^(r + x)),

(Fader, Hardie & Lee 2005, the probability of zero purchases given the history), reported for the
horizon and for 30 days. The time to the next purchase has that distribution and no purchase at
all with probability 1 - P(alive); its median is where P(purchase within s) = 1/2,

    s = (alpha + T) ((1 - 1 / (2 P(alive)))^(-1 / (r + x)) - 1),

which exists only when P(alive) > 1/2. next_purchase_days is the first whole day after the
as-of date by which the next purchase is more likely than not, ceil(s u), null when there is none
or it lies beyond the horizon.

Without a converged BG/NBD fit every prediction is null; without a converged Gamma-Gamma fit,
expected_order_value and predicted_clv. numpy, scipy and pandas only; the result is a pandas
DataFrame.
"""

import numpy as np
import pandas as pd
from scipy import special

PREDICTIONS = ("p_alive", "expected_purchases", "expected_order_value", "predicted_clv", "p_purchase_within_horizon",
               "p_purchase_within_30_days", "next_purchase_days")

QUADRATURE_NODES = 16
# The closed form of A(s) subtracts numbers up to |a + b + x - 1| / |a - 1| times A(s): beyond a
# million times, more than six of its sixteen digits are gone and A(s) is integrated instead.
CANCELLATION = 1e6


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
    log_odds = np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * np.log1p((big_t - t_x) / (alpha + t_x))
    return np.where(x > 0, special.expit(-log_odds), 1.0)


def purchase_probability(params, alive, x, big_t, s):
    """P(at least one purchase in the next s units) = P(alive) (1 - ((alpha + T) / (alpha + T + s))^(r + x))."""
    r, alpha, _, _ = params
    return alive * -np.expm1(-(r + x) * np.log1p(s / (alpha + big_t)))


def next_purchase_days(params, alive, x, big_t, unit_days, horizon_days):
    """Days after the as-of date to the median time of the next purchase, rounded up; NaN when
    the next purchase is not more likely than not, or only beyond the horizon."""
    r, alpha, _, _ = params
    likely = alive > 0.5
    with np.errstate(all="ignore"):
        units = (alpha + big_t) * np.expm1(-np.log1p(-0.5 / alive) / (r + x))
        days = np.ceil(units * unit_days * (1 - 1e-12))
    return np.where(likely & (days <= horizon_days), np.maximum(days, 1.0), np.nan)


def purchases_if_alive(params, x, big_t, s):
    """A(s): expected purchase days in the next s units of a customer known to be alive now, for
    arrays x, T of distinct pairs and one s."""
    r, alpha, a, b = params
    k, u = r + x, s / (alpha + big_t)
    z = s / (alpha + big_t + s)
    c = a + b + x - 1.0
    printed = a - 1.0 >= k
    euler = ~printed
    tail = np.empty_like(z)
    with np.errstate(all="ignore"):
        tail[printed] = (np.exp(k[printed] * np.log1p(-z[printed]))
                         * special.hyp2f1(k[printed], b + x[printed], c[printed], z[printed]))
        tail[euler] = (np.exp((a - 1.0) * np.log1p(-z[euler]))
                       * special.hyp2f1(c[euler] - k[euler], a - 1.0, c[euler], z[euler]))
        closed = c / (a - 1.0) * (1.0 - tail)
        lowest = -np.expm1(-k * np.log1p(u))
        usable = (np.isfinite(closed) & (closed >= lowest * (1.0 - 1e-9)) & (closed <= k * u * (1.0 + 1e-9))
                  & (np.abs(c / (a - 1.0)) <= CANCELLATION * closed))
    if usable.all():
        return closed
    rest = ~usable
    closed[rest] = purchases_by_quadrature(params, x[rest], big_t[rest], s)
    return closed


def purchases_by_quadrature(params, x, big_t, s):
    """A(s) as the mean over p ~ Beta(a, b + x) of g(p) = (1 - (1 + p u)^-(r+x)) / p, by the
    trapezoidal rule in y = ln(p / (1 - p)), for arrays x, T and one s.

    In y the density of p is smooth with exponential tails and g is analytic and bounded within
    pi / 2 of the real line, so equally spaced points converge geometrically, provided what is
    summed vanishes where the window ends. It does once R = (r + x) u (1 - p)^m + g(1) p is
    taken off g: R has g's limits at p = 0 and p = 1 (and with m = max(1, (r + x + 1) u / 2) its
    first slope at 0, so R stays small where p is not), and its mean,
    (r + x) u B(a, b + x + m) / B(a, b + x) + g(1) a / (a + b + x), is added back. The window is
    the mode of y +- 40 standard deviations, less where g - R is below double precision (y under
    -ln((r + x + 1) u) - 37 or over 37), in steps of at most 0.3 and the standard deviation / 1.5.
    """
    r, alpha, a, b = params
    k, beta, u = r + x, b + x, s / (alpha + big_t)
    spread = np.sqrt(special.polygamma(1, a) + special.polygamma(1, beta))
    mode = np.log(a) - np.log(beta)
    low = np.maximum(mode - 40.0 * spread, -np.log((k + 1.0) * u) - 37.0)
    high = np.maximum(np.minimum(mode + 40.0 * spread, 37.0), low)
    points = np.ceil((high - low) / np.minimum(0.3, spread / 1.5)).astype(int) + 2
    step = (high - low) / (points - 1)
    index = np.arange(points.max())
    y = low[:, None] + step[:, None] * index
    log_p, log_q = -np.logaddexp(0.0, -y), -np.logaddexp(0.0, y)
    log_beta = special.betaln(a, beta)
    density = np.exp(a * log_p + beta[:, None] * log_q - log_beta[:, None])
    p = np.exp(log_p)
    slope = np.maximum(1.0, (k + 1.0) * u / 2.0)
    at_one = -np.expm1(-k * np.log1p(u))
    g = -np.expm1(-k[:, None] * np.log1p(p * u[:, None])) / p
    rest = g - (k * u)[:, None] * np.exp(slope[:, None] * log_q) - at_one[:, None] * p
    weights = np.where(index < points[:, None], step[:, None], 0.0)
    weights[:, 0] /= 2.0
    np.put_along_axis(weights, points[:, None] - 1, step[:, None] / 2.0, axis=1)
    mean_of_r = k * u * np.exp(special.betaln(a, beta + slope) - log_beta) + at_one * a / (a + beta)
    return mean_of_r + (weights * density * rest).sum(axis=1)


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
    """p_alive, expected_purchases, expected_order_value, predicted_clv; NaN (null) without a converged
    fit. With one, every customer gets finite values: anything else is a defect, raised, never
    left as null beside a converged fit."""
    n = len(frequency)
    nothing = {name: np.full(n, np.nan) for name in PREDICTIONS}
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
    result = {
        "p_alive": alive,
        "expected_purchases": alive * at_horizon[pair_index],
        "p_purchase_within_horizon": purchase_probability(bgnbd, alive, frequency, customer_age, horizon),
        "p_purchase_within_30_days": purchase_probability(bgnbd, alive, frequency, customer_age, 30.0 / time_unit_days),
        "next_purchase_days": next_purchase_days(bgnbd, alive, frequency, customer_age, time_unit_days, horizon_days),
    }
    if fit_row.get("is_gamma_gamma_converged"):
        order_value = expected_order_value(gamma_gamma, frequency, repeat_order_value)
        result |= {"expected_order_value": order_value, "predicted_clv": order_value * alive * discounted[pair_index]}
    else:
        result |= {"expected_order_value": nothing["expected_order_value"], "predicted_clv": nothing["predicted_clv"]}
    converged = ["p_alive", "expected_purchases", "p_purchase_within_horizon", "p_purchase_within_30_days"]
    if fit_row.get("is_gamma_gamma_converged"):
        converged += ["expected_order_value", "predicted_clv"]
    for name in converged:
        bad = int(np.count_nonzero(~(np.isfinite(result[name]) & (result[name] >= 0))))
        if bad:
            raise ValueError(
                f"crm_retention: {name} is not a finite non-negative number for {bad} customers at the fitted "
                f"parameters (r, alpha, a, b = {bgnbd}; p, q, gamma = {gamma_gamma}). This is a defect in the "
                "package: please report it with these parameters. Set crm_using_predictions: false to build "
                "everything else meanwhile."
            )
    return result


def model(dbt, session):
    dbt.config(materialized="table", packages=["numpy", "scipy", "pandas"])
    columns = read_columns(dbt.ref("int_crm__customer_clv_summaries"),
                           ["customer_id", "frequency", "recency", "customer_age", "repeat_order_value"])
    fit_columns = read_columns(dbt.ref("int_crm__clv_model_fit"), ["fitted_on", "is_bgnbd_converged", "is_gamma_gamma_converged"] + [
        f"bgnbd_{n}" for n in ("r", "alpha", "a", "b")] + [f"gg_{n}" for n in ("p", "q", "gamma")])
    as_of_rows = np.flatnonzero(fit_columns["fitted_on"] == "as_of")
    fit_row = {name: values[as_of_rows[0]] for name, values in fit_columns.items()} if len(as_of_rows) else {}
    settings = read_columns(dbt.ref("int_crm__clv_settings"), ["time_unit_days", "horizon_days", "annual_discount_rate"])
    predictions = score(
        fit_row, columns["frequency"], columns["recency"], columns["customer_age"], columns["repeat_order_value"],
        time_unit_days=float(settings["time_unit_days"][0]),
        horizon_days=float(settings["horizon_days"][0]),
        annual_discount_rate=float(settings["annual_discount_rate"][0]),
    )
    frame = pd.DataFrame({"customer_id": columns["customer_id"], **predictions})
    frame["next_purchase_days"] = frame["next_purchase_days"].astype("Int64")
    return frame
