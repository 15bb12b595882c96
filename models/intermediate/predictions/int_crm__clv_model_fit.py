"""The fitted purchase and spend models: BG/NBD and Gamma-Gamma by maximum likelihood.

Two rows, by `fitted_on`: `as_of`, both models fitted to the customers as of the as-of date (the
predictions of crm__clv), and `calibration`, BG/NBD alone fitted to the customers as they were at
the end of the backtest's calibration period (int_crm__clv_backtest_summaries), whose holdout
purchases crm__clv_backtest compares with what that fit expects.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") models the repeat
purchase days of every customer from (frequency, recency, customer_age); Gamma-Gamma (Fader,
Hardie & Lee 2005, "RFM and CLV"; Hardie's note "The Gamma-Gamma model of monetary value") the
mean value of a repeat purchase day from (frequency, repeat_order_value) of the customers with
one. Both likelihoods are evaluated on the distinct summary rows (grouped by DuckDB), each
weighted by how many customers share it, with the terms that depend on one column only computed
once per distinct value of that column, and with analytic gradients. Above 100,000 customers the
parameters are fitted on a deterministic sample of 100,000: a systematic 1-in-k sample of the
customers ordered by their summary (frequency, then recency, then customer_age; for Gamma-Gamma
frequency, then repeat_order_value), each counted k times, so every stratum of the base is
represented in proportion; the log-likelihoods reported are those of all customers at the
fitted parameters. Parameters are searched in log space (they are positive), relative to a scale
(1, except the mean customer_age for alpha and the mean repeat_order_value for gamma, the
parameters measured in time and money), within [e^-15, e^15] of it.

A fit is converged only if the optimiser succeeded inside the search range at positive finite
parameters, the point is the maximum (a Newton step from it moves no parameter by more than
0.1%), and no direction is flat: followed e^10 times further along the direction in which the
log-likelihood curves least, the log-likelihood of all customers must fall by at least 1.92 (the
95% likelihood-ratio bound). Where it does not, the data do not identify those parameters: a
and b together when customers hardly differ in their dropout probability (a / (a + b) is
identified, a + b drifts), r and alpha together for the purchase rate, q and gamma for spend.
A fit that cannot be trusted is reported, not raised: `is_converged` is false, `fit_note` says
why (too few customers, no repeat customer, the optimiser's failure, a parameter at the edge of
its range or non-finite, not identified, stopped short of the maximum), and the predictions that
need it stay null: all of them without a BG/NBD fit, expected_order_value and predicted_clv
without a Gamma-Gamma fit. numpy, scipy and pandas only (the result is a pandas DataFrame, which
every adapter that runs Python models accepts; Snowflake installs the declared packages).
"""

try:
    import numpy as np
    import pandas as pd
    from scipy import optimize, special
except ImportError as missing:
    # One message in the package's words instead of a traceback: what to install, or how to turn
    # the predictions off (README, "Install").
    raise ImportError(
        f"crm_retention: the predictive CLV models need numpy, scipy and pandas in dbt's Python environment "
        f"({missing}). Install them (pip install numpy scipy pandas), or set crm_using_predictions: false "
        f"under vars in your dbt_project.yml to build everything else without predictions."
    ) from None


MIN_CUSTOMERS = 20
MIN_REPEAT_CUSTOMERS = 5
LOG_BOUND = 15.0
# A parameter this close (in log space) to the edge of its range has run away: the likelihood
# keeps rising towards 0 or infinity, so the data do not identify it.
EDGE = 1e-3
# Beyond e^RUNAWAY times its scale, a parameter the optimiser stopped on is named in the note.
RUNAWAY = 10.0
# Half the 95% point of chi-square with one degree of freedom: parameters whose log-likelihoods
# differ by less cannot be told apart by the data (a likelihood-ratio test).
LIKELIHOOD_RATIO_BOUND = 1.92
# How far (in log parameter) the flattest direction is followed from the fit: a factor e^10.
FLAT_SPAN = 10.0
# A Newton step from the fit longer than this (in log parameter, 0.1%) means the optimiser
# stopped short of the maximum.
NEWTON_STEP = 1e-3
# Above this many customers, the fit uses a systematic sample of this many (see above).
FIT_CUSTOMERS = 100_000
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


def weighted_sum(weights, values):
    """sum(weights * values). Not np.dot: with some OpenBLAS builds and settings a BLAS call on
    a vector costs a hundred times the arithmetic."""
    return float((weights * values).sum())


def distinct_rows(*columns):
    """The distinct rows of equal-length float columns and how many times each occurs.

    Each column is coded by its sorted distinct values, and the codes combined into one integer
    key, so one 1-D sort finds the distinct rows (a row-wise sort of a 2-D array is ten times slower).
    """
    values, codes = zip(*(np.unique(column, return_inverse=True) for column in columns))
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for distinct, code in zip(values, codes):
        key = key * len(distinct) + code.reshape(-1)
    keys, first, counts = np.unique(key, return_index=True, return_counts=True)
    return [column[first] for column in columns], counts.astype(float)


def distinct_rows_in_duckdb(relation, columns, where):
    """The same from a DuckDB relation, grouped and sorted by DuckDB."""
    names = ", ".join(columns)
    grouped = relation.filter(where).aggregate(f"{names}, count(*) as customers", names).order(names)
    data = grouped.fetchnumpy()
    return [np.asarray(data[c], dtype=float) for c in columns], np.asarray(data["customers"], dtype=float)


def systematic_sample(weights, limit):
    """Per-row weights of a systematic 1-in-k sample of the customers the rows stand for (in row
    order, k = customers / limit), each sampled customer counted k times; rows as they are at or
    below the limit."""
    total = weights.sum()
    if total <= limit:
        return weights
    k = total / limit
    # The customers at positions k/2, 3k/2, ...: those in row i are the picks in (C[i-1], C[i]].
    picks = np.floor(np.cumsum(weights) / k + 0.5)
    return np.diff(picks, prepend=0.0) * k


class BgNbdData:
    """Distinct (x, t_x, T) rows and weights, with each column's distinct values indexed once."""

    def __init__(self, x, t_x, big_t, weights):
        self.weights = weights
        self.x_values, self.x_index = np.unique(x, return_inverse=True)
        self.t_x_values, self.t_x_index = np.unique(t_x, return_inverse=True)
        self.t_values, self.t_index = np.unique(big_t, return_inverse=True)
        self.x = x
        self.is_repeat = x > 0
        # Weighted counts per distinct x, for the terms that depend on x alone.
        self.x_weights = np.bincount(self.x_index, weights=weights, minlength=len(self.x_values))

    def sample(self, limit):
        weights = systematic_sample(self.weights, limit)
        rows = weights > 0
        return BgNbdData(self.x[rows], self.t_x_values[self.t_x_index[rows]], self.t_values[self.t_index[rows]],
                         weights[rows])


def bgnbd_log_likelihood(params, data, gradient=False):
    """Sum over customers of the BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6), and
    with gradient=True its derivatives by (r, alpha, a, b)."""
    r, alpha, a, b = params
    xs = data.x_values
    # Terms of x alone: ln Gamma(r+x) - ln Gamma(r) + r ln alpha + ln B(a, b+x) - ln B(a, b).
    by_x = special.gammaln(r + xs) - special.gammaln(r) + r * np.log(alpha) + special.betaln(a, b + xs) - special.betaln(a, b)
    inverse_t = 1.0 / (alpha + data.t_values)
    inverse_t_x = 1.0 / (alpha + data.t_x_values)
    log_alpha_t = -np.log(inverse_t)[data.t_index]
    log_alpha_t_x = -np.log(inverse_t_x)[data.t_x_index]
    r_x = r + data.x
    # The second term of the likelihood over the first, in logs: ln(a / (b+x-1)) + (r+x) ln((alpha+T)/(alpha+t_x)).
    log_ratio = np.log(a) - np.log(b + np.maximum(xs, 1) - 1)
    ratio = np.where(data.is_repeat, log_ratio[data.x_index] + r_x * (log_alpha_t - log_alpha_t_x), -np.inf)
    value = float(weighted_sum(data.x_weights, by_x) - weighted_sum(data.weights, r_x * log_alpha_t)
                  + weighted_sum(data.weights, np.logaddexp(0.0, ratio)))
    if not gradient:
        return value
    share = data.weights * special.expit(ratio)  # weight times the second term's share of the likelihood
    psi_ab_x = special.digamma(a + b + xs)
    d_r = (weighted_sum(data.x_weights, special.digamma(r + xs) - special.digamma(r) + np.log(alpha))
           - weighted_sum(data.weights, log_alpha_t) + weighted_sum(share, log_alpha_t - log_alpha_t_x))
    w_t = np.bincount(data.t_index, weights=data.weights * r_x, minlength=len(data.t_values))
    s_t = np.bincount(data.t_index, weights=share * r_x, minlength=len(data.t_values))
    s_t_x = np.bincount(data.t_x_index, weights=share * r_x, minlength=len(data.t_x_values))
    total = data.x_weights.sum()
    d_alpha = total * r / alpha - weighted_sum(w_t, inverse_t) + weighted_sum(s_t, inverse_t) - weighted_sum(s_t_x, inverse_t_x)
    share_by_x = np.bincount(data.x_index, weights=share, minlength=len(xs))
    d_a = (weighted_sum(data.x_weights, special.digamma(a + b) - psi_ab_x) + share_by_x.sum() / a)
    d_b = (weighted_sum(data.x_weights, special.digamma(b + xs) - psi_ab_x - special.digamma(b) + special.digamma(a + b))
           - weighted_sum(share_by_x, 1.0 / (b + np.maximum(xs, 1) - 1)))
    return value, np.array([d_r, d_alpha, d_a, d_b])


class GammaGammaData:
    def __init__(self, x, mean_value, weights):
        self.weights = weights
        self.x_values, self.x_index = np.unique(x, return_inverse=True)
        self.x_weights = np.bincount(self.x_index, weights=weights, minlength=len(self.x_values))
        self.x = x
        self.mean_value = mean_value
        # Terms without parameters but p: sum of w x (ln m + ln x) per row, once.
        self.log_terms = float(weighted_sum(weights * x, np.log(mean_value) + np.log(x)))
        self.log_mean_value = float(weighted_sum(weights, np.log(mean_value)))

    def sample(self, limit):
        weights = systematic_sample(self.weights, limit)
        rows = weights > 0
        return GammaGammaData(self.x[rows], self.mean_value[rows], weights[rows])


def gamma_gamma_log_likelihood(params, data, gradient=False):
    """Sum over repeat customers of ln f(m | p, q, gamma; x), the density of the mean value m of x
    purchases (Hardie's note, eq. 3), and with gradient=True its derivatives by (p, q, gamma)."""
    p, q, gamma = params
    xs = data.x_values
    by_x = special.gammaln(q + p * xs) - special.gammaln(p * xs)
    log_spend = np.log(gamma + data.x * data.mean_value)
    px_q = p * data.x + q
    total = data.weights.sum()
    value = float(weighted_sum(data.x_weights, by_x) + total * (q * np.log(gamma) - special.gammaln(q))
                  + p * data.log_terms - data.log_mean_value - weighted_sum(data.weights, px_q * log_spend))
    if not gradient:
        return value
    psi_px_q = special.digamma(q + p * xs)
    d_p = weighted_sum(data.x_weights * xs, psi_px_q - special.digamma(p * xs)) + data.log_terms - weighted_sum(data.weights * data.x, log_spend)
    d_q = weighted_sum(data.x_weights, psi_px_q) + total * (np.log(gamma) - special.digamma(q)) - weighted_sum(data.weights, log_spend)
    d_gamma = total * q / gamma - weighted_sum(data.weights * px_q, 1.0 / (gamma + data.x * data.mean_value))
    return value, np.array([d_p, d_q, d_gamma])


def objective_in_logs(log_likelihood, data, scale):
    """The mean negative log-likelihood per customer (its size independent of the base's) and its
    gradient, as a function of log(parameter / scale)."""
    customers = float(data.weights.sum())

    def objective(log_params):
        params = scale * np.exp(log_params)
        value, gradient = log_likelihood(params, data, gradient=True)
        if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
            return 1e300, np.zeros_like(log_params)
        # d/d log(parameter) = parameter * d/d parameter
        return -value / customers, -gradient * params / customers

    return objective


def maximise(log_likelihood, data, scale, names):
    """Maximum-likelihood parameters, the log-likelihood, and None or the reason the fit fails.

    The search starts from the scale (log 0) except for the second Gamma-Gamma shape, whose
    mean exists only above 1 (start 2), and moves in log(parameter / scale).
    """
    scale = np.asarray(scale, dtype=float)
    fit_data = data.sample(FIT_CUSTOMERS)
    customers = float(fit_data.weights.sum())
    objective = objective_in_logs(log_likelihood, fit_data, scale)
    log_start = np.array([np.log(2.0) if name == "q" else 0.0 for name in names])
    result = optimize.minimize(objective, log_start, jac=True, method="L-BFGS-B",
                               bounds=[(-LOG_BOUND, LOG_BOUND)] * len(scale),
                               options={"maxiter": 500, "ftol": 1e-11, "gtol": 1e-7})
    params = scale * np.exp(result.x)
    log_likelihood_value = log_likelihood(params, data)
    at_edge = [name for name, value in zip(names, result.x) if abs(value) > LOG_BOUND - EDGE]
    if at_edge:
        return params, log_likelihood_value, (
            f"{', '.join(at_edge)} ran to the edge of its range (e^-{LOG_BOUND:g} to e^{LOG_BOUND:g} times its scale): "
            "the likelihood keeps rising towards 0 or infinity, so the data do not identify it"
        )
    if not result.success:
        far = [name for name, value in zip(names, result.x) if abs(value) > RUNAWAY]
        hint = f"; {', '.join(far)} heading to 0 or infinity: the data may not identify it" if far else ""
        return params, log_likelihood_value, f"the optimiser stopped without converging ({result.message.strip(': ')}{hint})"
    if not (np.all(np.isfinite(params)) and np.all(params > 0) and np.isfinite(log_likelihood_value)):
        return params, log_likelihood_value, "the fitted parameters are not positive finite numbers"
    return params, log_likelihood_value, maximum_failure(objective, result.x, names, customers)


def maximum_failure(objective, log_params, names, customers):
    """None if the optimiser's point is the data's maximum, else why not.

    The curvature (Hessian) of the objective comes from central differences of its gradient. Its
    flattest direction is followed e^FLAT_SPAN times further both ways: if the log-likelihood of
    all customers changes by less than the likelihood-ratio bound there, the data cannot tell the
    parameters that move along it from far larger or smaller ones (they are not identified, the
    optimiser only drifted). Otherwise a Newton step from the point must move no parameter by more
    than NEWTON_STEP: a gradient that is not small for the curvature means it stopped short.
    """
    step = 1e-5
    hessian = np.array([(objective(log_params + step * unit)[1] - objective(log_params - step * unit)[1]) / (2 * step)
                        for unit in np.eye(len(log_params))])
    hessian = (hessian + hessian.T) / 2
    if not np.all(np.isfinite(hessian)):
        return "the curvature of the log-likelihood at the fit is not finite"
    flattest = np.linalg.eigh(hessian)[1][:, 0]
    value, gradient = objective(log_params)
    for sign in (1.0, -1.0):
        change = (objective(log_params + sign * FLAT_SPAN * flattest)[0] - value) * customers
        if change < LIKELIHOOD_RATIO_BOUND:
            moved = [(name, sign * weight) for name, weight in zip(names, flattest) if abs(weight) > 0.3]
            moves = " and ".join(
                f"{name} {'times' if weight > 0 else 'divided by'} {np.exp(FLAT_SPAN * abs(weight)):,.0f}"
                for name, weight in moved
            )
            return (
                f"{' and '.join(name for name, _ in moved)} not identified: with {moves} the log-likelihood "
                f"changes by only {abs(change):.2g} (under {LIKELIHOOD_RATIO_BOUND}, the 95% likelihood-ratio "
                "bound), so the data cannot tell these values from far larger or smaller ones"
            )
    newton = np.linalg.solve(hessian, gradient)
    if np.max(np.abs(newton)) > NEWTON_STEP:
        return (
            "the optimiser stopped short of the maximum: a Newton step would still move "
            f"{', '.join(n for n, v in zip(names, newton) if abs(v) > NEWTON_STEP)} by more than {NEWTON_STEP:.1%}"
        )
    return None


def fit(frequency, recency, customer_age, repeat_order_value):
    """Both models from per-customer summary columns (numpy arrays); a dict of the output row."""
    repeat_value = np.nan_to_num(repeat_order_value)
    spend = (frequency > 0) & (repeat_value > 0)
    return fit_distinct(distinct_rows(frequency, recency, customer_age),
                        distinct_rows(frequency[spend], repeat_value[spend]))


def fit_distinct(bgnbd_rows, gamma_gamma_rows=None):
    """Both models from distinct rows and counts: ([frequency, recency, customer_age], customers)
    and ([frequency, repeat_order_value], customers) of the customers with a positive one; without
    the second, BG/NBD alone (is_converged then means BG/NBD converged)."""
    row = {f"bgnbd_{n}": np.nan for n in BGNBD_NAMES} | {f"gg_{n}": np.nan for n in GG_NAMES}
    row |= {"bgnbd_log_likelihood": np.nan, "gg_log_likelihood": np.nan}
    notes = []
    (x, t_x, big_t), weights = bgnbd_rows
    customers, repeat = int(weights.sum()), int(weights[x > 0].sum())
    bgnbd_converged = gamma_gamma_converged = False
    if customers < MIN_CUSTOMERS or repeat < MIN_REPEAT_CUSTOMERS:
        notes.append(
            f"too few customers to fit: {customers} customers, {repeat} with a repeat purchase "
            f"(at least {MIN_CUSTOMERS} and {MIN_REPEAT_CUSTOMERS} needed)"
        )
    else:
        data = BgNbdData(x, t_x, big_t, weights)
        mean_age = float(weighted_sum(weights, big_t) / weights.sum())
        params, value, failure = maximise(bgnbd_log_likelihood, data, [1.0, max(mean_age, 1e-3), 1.0, 1.0], BGNBD_NAMES)
        row |= {f"bgnbd_{n}": float(v) for n, v in zip(BGNBD_NAMES, params)} | {"bgnbd_log_likelihood": value}
        bgnbd_converged = failure is None
        if failure:
            notes.append(f"BG/NBD: {failure}")
    if gamma_gamma_rows is None:
        row |= {"is_bgnbd_converged": bgnbd_converged, "is_gamma_gamma_converged": False,
                "is_converged": bgnbd_converged, "fit_note": "; ".join(notes) if notes else "converged"}
        return row
    (x, mean_value), weights = gamma_gamma_rows
    if weights.sum() < MIN_REPEAT_CUSTOMERS:
        if not notes:
            notes.append(
                f"too few customers with a positive repeat_order_value to fit Gamma-Gamma: {int(weights.sum())} "
                f"(at least {MIN_REPEAT_CUSTOMERS} needed)"
            )
    else:
        data = GammaGammaData(x, mean_value, weights)
        scale = [1.0, 1.0, float(weighted_sum(weights, mean_value) / weights.sum())]
        params, value, failure = maximise(gamma_gamma_log_likelihood, data, scale, GG_NAMES)
        row |= {f"gg_{n}": float(v) for n, v in zip(GG_NAMES, params)} | {"gg_log_likelihood": value}
        if failure:
            notes.append(f"Gamma-Gamma: {failure}")
        elif params[1] <= 1:
            notes.append(f"Gamma-Gamma: q = {params[1]:.4g} is not above 1, so the mean order value is infinite")
        else:
            gamma_gamma_converged = True
    row["is_bgnbd_converged"] = bgnbd_converged
    row["is_gamma_gamma_converged"] = bgnbd_converged and gamma_gamma_converged
    row["is_converged"] = bgnbd_converged and gamma_gamma_converged
    row["fit_note"] = "; ".join(notes) if notes else "converged"
    return row


def summary_rows(relation, spend=True):
    """The distinct summary rows a fit needs from a dbt.ref() result (see fit_distinct)."""
    if hasattr(relation, "aggregate"):  # DuckDB groups the rows itself
        bgnbd = distinct_rows_in_duckdb(relation, ["frequency", "recency", "customer_age"], "true")
        if not spend:
            return bgnbd, None
        return bgnbd, distinct_rows_in_duckdb(relation, ["frequency", "repeat_order_value"],
                                              "frequency > 0 and repeat_order_value > 0")
    columns = read_columns(relation, ["frequency", "recency", "customer_age"] + (["repeat_order_value"] if spend else []))
    bgnbd = distinct_rows(columns["frequency"], columns["recency"], columns["customer_age"])
    if not spend:
        return bgnbd, None
    value = np.nan_to_num(columns["repeat_order_value"])
    repeat = (columns["frequency"] > 0) & (value > 0)
    return bgnbd, distinct_rows(columns["frequency"][repeat], value[repeat])


def model(dbt, session):
    dbt.config(materialized="table", packages=["numpy", "scipy", "pandas"])
    summaries = dbt.ref("int_crm__customer_clv_summaries")
    calibration = dbt.ref("int_crm__clv_backtest_summaries")
    rows = [
        {"fitted_on": "as_of", **fit_distinct(*summary_rows(summaries))},
        {"fitted_on": "calibration", **fit_distinct(*summary_rows(calibration, spend=False))},
    ]
    frame = pd.DataFrame(rows)
    for name in ("is_converged", "is_bgnbd_converged", "is_gamma_gamma_converged"):
        frame[name] = frame[name].astype(bool)
    return frame
