"""The fitted purchase and spend models, one row: BG/NBD and Gamma-Gamma by maximum likelihood.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") models the repeat
purchase days of every customer from (frequency, recency, customer_age); Gamma-Gamma (Fader,
Hardie & Lee 2005, "RFM and CLV"; Hardie's note "The Gamma-Gamma model of monetary value") the
mean value of a repeat purchase day from (frequency, repeat_order_value) of the customers with
one. Both likelihoods are evaluated on the distinct summary rows, each weighted by how many
customers share it, with the terms that depend on one column only computed once per distinct
value of that column: a million customers cost a few hundred thousand rows of vector arithmetic
per evaluation. Parameters are searched in log space (they are positive), relative to a scale
(1, except the mean customer_age for alpha and the mean repeat_order_value for gamma, the
parameters measured in time and money), within [e^-15, e^15] of it.

A fit that cannot be trusted is reported, not raised: `is_converged` is false, `fit_note` says
why (too few customers, no repeat customer, the optimiser's failure, a parameter at the edge of
its range or non-finite), and the predictions read from this row stay null. numpy and scipy only.
"""

import numpy as np
from scipy import optimize, special

MIN_CUSTOMERS = 20
MIN_REPEAT_CUSTOMERS = 5
LOG_BOUND = 15.0
# A parameter this close (in log space) to the edge of its range has run away: the likelihood
# keeps rising towards 0 or infinity, so the data do not identify it.
EDGE = 1e-3
# Above this many distinct rows, a first fit on every k-th distinct row (weights scaled by k)
# gives the starting point of the full fit, which then needs only a few iterations.
WARM_START_ROWS = 50_000
BGNBD_NAMES = ("r", "alpha", "a", "b")
GG_NAMES = ("p", "q", "gamma")


def read_columns(relation, names):
    """Columns of a dbt.ref() result as float numpy arrays (null as NaN), whatever the adapter."""
    if hasattr(relation, "fetchnumpy"):  # DuckDB
        data = relation.project(", ".join(names)).fetchnumpy()
    elif hasattr(relation, "toPandas"):  # PySpark
        data = relation.select(*names).toPandas()
    elif hasattr(relation, "to_pandas"):  # Snowpark
        data = relation.select(*names).to_pandas()
        data.columns = [str(c).lower() for c in data.columns]
    else:
        data = relation
    return {name: np.ma.filled(np.ma.asarray(data[name], dtype=float), np.nan) for name in names}


def distinct_rows(*columns):
    """The distinct rows of equal-length columns and how many times each occurs."""
    stacked = np.column_stack(columns)
    rows, counts = np.unique(stacked, axis=0, return_counts=True)
    return [rows[:, i] for i in range(rows.shape[1])], counts.astype(float)


def _index(values):
    unique, inverse = np.unique(values, return_inverse=True)
    return unique, inverse


class BgNbdData:
    """Distinct (x, t_x, T) rows and weights, with each column's distinct values indexed once."""

    def __init__(self, x, t_x, big_t, weights):
        self.weights = weights
        self.x_values, self.x_index = _index(x)
        self.t_x_values, self.t_x_index = _index(t_x)
        self.t_values, self.t_index = _index(big_t)
        self.x = x
        self.is_repeat = x > 0

    def subsample(self, step):
        rows = np.arange(0, len(self.weights), step)
        return BgNbdData(self.x[rows], self.t_x_values[self.t_x_index[rows]],
                         self.t_values[self.t_index[rows]], self.weights[rows] * step)


def bgnbd_log_likelihood(params, data):
    """Sum over customers of the BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6)."""
    r, alpha, a, b = params
    xs = data.x_values
    # Terms of x alone: ln Gamma(r+x) - ln Gamma(r) + r ln alpha + ln B(a, b+x) - ln B(a, b).
    by_x = special.gammaln(r + xs) - special.gammaln(r) + r * np.log(alpha) + special.betaln(a, b + xs) - special.betaln(a, b)
    log_alpha_t = np.log(alpha + data.t_values)[data.t_index]
    log_alpha_t_x = np.log(alpha + data.t_x_values)[data.t_x_index]
    r_x = r + data.x
    # The second term of the likelihood over the first, in logs: ln(a / (b+x-1)) + (r+x) ln((alpha+T)/(alpha+t_x)).
    log_ratio = np.log(a) - np.log(b + np.maximum(xs, 1) - 1)
    ratio = np.where(data.is_repeat, log_ratio[data.x_index] + r_x * (log_alpha_t - log_alpha_t_x), -np.inf)
    per_row = by_x[data.x_index] - r_x * log_alpha_t + np.logaddexp(0.0, ratio)
    return float(np.dot(data.weights, per_row))


class GammaGammaData:
    def __init__(self, x, mean_value, weights):
        self.weights = weights
        self.x_values, self.x_index = _index(x)
        self.x = x
        self.mean_value = mean_value
        self.log_mean_value = np.log(mean_value)
        self.log_x = np.log(x)

    def subsample(self, step):
        rows = np.arange(0, len(self.weights), step)
        return GammaGammaData(self.x[rows], self.mean_value[rows], self.weights[rows] * step)


def gamma_gamma_log_likelihood(params, data):
    """Sum over repeat customers of ln f(m | p, q, gamma; x), the density of the mean value m of x purchases."""
    p, q, gamma = params
    px = p * data.x
    by_x = special.gammaln(q + p * data.x_values) - special.gammaln(p * data.x_values)
    per_row = (
        by_x[data.x_index] - special.gammaln(q) + q * np.log(gamma)
        + (px - 1.0) * data.log_mean_value + px * data.log_x - (px + q) * np.log(gamma + data.x * data.mean_value)
    )
    return float(np.dot(data.weights, per_row))


def maximise(log_likelihood, data, scale, names):
    """Maximum-likelihood parameters, the log-likelihood, and None or the reason the fit fails.

    The search starts from the scale (log 0) except for the second Gamma-Gamma shape, whose
    mean exists only above 1 (start 2), and moves in log(parameter / scale).
    """
    scale = np.asarray(scale, dtype=float)
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(scale)

    def search(log_start, fit_data):
        # The mean log-likelihood per customer keeps the objective's scale independent of size.
        total = float(fit_data.weights.sum())

        def objective(log_params):
            value = log_likelihood(scale * np.exp(log_params), fit_data)
            return -value / total if np.isfinite(value) else 1e300

        return optimize.minimize(objective, log_start, method="L-BFGS-B", bounds=bounds,
                                 options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9})

    log_start = np.array([np.log(2.0) if name == "q" else 0.0 for name in names])
    if len(data.weights) > WARM_START_ROWS:
        step = int(np.ceil(len(data.weights) / WARM_START_ROWS))
        log_start = search(log_start, data.subsample(step)).x
    result = search(log_start, data)
    params = scale * np.exp(result.x)
    log_likelihood_value = log_likelihood(params, data)
    if not result.success:
        return params, log_likelihood_value, f"the optimiser stopped without converging ({result.message})"
    if not (np.all(np.isfinite(params)) and np.all(params > 0) and np.isfinite(log_likelihood_value)):
        return params, log_likelihood_value, "the fitted parameters are not positive finite numbers"
    at_edge = [name for name, value in zip(names, result.x) if abs(value) > LOG_BOUND - EDGE]
    if at_edge:
        return params, log_likelihood_value, (
            f"{', '.join(at_edge)} ran to the edge of its range (e^-{LOG_BOUND:g} to e^{LOG_BOUND:g} times its scale): "
            "the likelihood keeps rising towards 0 or infinity, so the data do not identify it"
        )
    return params, log_likelihood_value, None


def fit(frequency, recency, customer_age, repeat_order_value):
    """Both models from the customer summaries; a dict of the one output row."""
    row = {f"bgnbd_{n}": np.nan for n in BGNBD_NAMES} | {f"gg_{n}": np.nan for n in GG_NAMES}
    row |= {"bgnbd_log_likelihood": np.nan, "gg_log_likelihood": np.nan}
    notes = []
    customers = len(frequency)
    repeat = frequency > 0
    spend = repeat & (repeat_order_value > 0)
    if customers < MIN_CUSTOMERS or repeat.sum() < MIN_REPEAT_CUSTOMERS:
        notes.append(
            f"too few customers to fit: {customers} customers, {int(repeat.sum())} with a repeat purchase "
            f"(at least {MIN_CUSTOMERS} and {MIN_REPEAT_CUSTOMERS} needed)"
        )
    else:
        (x, t_x, big_t), weights = distinct_rows(frequency, recency, customer_age)
        data = BgNbdData(x, t_x, big_t, weights)
        mean_age = float(np.dot(weights, big_t) / weights.sum())
        params, value, failure = maximise(bgnbd_log_likelihood, data, [1.0, max(mean_age, 1e-3), 1.0, 1.0], BGNBD_NAMES)
        row |= {f"bgnbd_{n}": float(v) for n, v in zip(BGNBD_NAMES, params)} | {"bgnbd_log_likelihood": value}
        if failure:
            notes.append(f"BG/NBD: {failure}")
    if spend.sum() < MIN_REPEAT_CUSTOMERS:
        if not notes:
            notes.append(
                f"too few customers with a positive repeat_order_value to fit Gamma-Gamma: {int(spend.sum())} "
                f"(at least {MIN_REPEAT_CUSTOMERS} needed)"
            )
    else:
        (x, mean_value), weights = distinct_rows(frequency[spend], repeat_order_value[spend])
        data = GammaGammaData(x, mean_value, weights)
        scale = [1.0, 1.0, float(np.dot(weights, mean_value) / weights.sum())]
        params, value, failure = maximise(gamma_gamma_log_likelihood, data, scale, GG_NAMES)
        row |= {f"gg_{n}": float(v) for n, v in zip(GG_NAMES, params)} | {"gg_log_likelihood": value}
        if failure:
            notes.append(f"Gamma-Gamma: {failure}")
        elif params[1] <= 1:
            notes.append(f"Gamma-Gamma: q = {params[1]:.4g} is not above 1, so the mean order value is infinite")
    row["is_converged"] = not notes
    row["fit_note"] = "; ".join(notes) if notes else "converged"
    return row


def model(dbt, session):
    dbt.config(materialized="table")
    columns = read_columns(dbt.ref("int_crm__customer_clv_summaries"),
                           ["frequency", "recency", "customer_age", "repeat_order_value"])
    row = fit(columns["frequency"], columns["recency"], columns["customer_age"], columns["repeat_order_value"])
    return {
        name: np.array([value], dtype=object if name == "fit_note" else (bool if name == "is_converged" else float))
        for name, value in row.items()
    }
