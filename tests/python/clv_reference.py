"""BG/NBD and Gamma-Gamma written from the papers, independently of the package's Python models.

The printed formulas (no hypergeometric transformation, the weighted-mean form of the spend
model, the likelihood as a sum of two products, P(alive) and the likelihoods in mpmath at 40
digits so that they hold at any parameters), and at extreme parameters the expected purchases
integrated from the model's definition with mpmath: the package's predictions and
log-likelihoods are checked against these, never against themselves.

- Fader, Hardie & Lee (2005), "Counting your customers" the easy way (BG/NBD), eqs. 6, 7, 10, 11.
- Fader, Hardie & Lee (2005), RFM and CLV; Hardie (2013), The Gamma-Gamma model of monetary value.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import mpmath as mp
import numpy as np
from scipy.special import betaincinv, hyp2f1

DIGITS = 40


def mpmath_p_alive(r, alpha, a, b, x, t_x, big_t):
    """Fader, Hardie & Lee (2005), eq. 11 / Hardie's note: 1 / (1 + δ(x>0) a/(b+x-1) ((α+T)/(α+t_x))^(r+x))."""
    if x == 0:
        return 1.0
    with mp.workdps(DIGITS):
        r, alpha, a, b, x, t_x, big_t = map(mp.mpf, (r, alpha, a, b, x, t_x, big_t))
        return float(1 / (1 + a / (b + x - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)))


paper_p_alive = np.vectorize(mpmath_p_alive, otypes=[float])


def mpmath_purchases_if_alive(r, alpha, a, b, x, big_t, s, digits=15):
    """E[Y(s) | alive at T]: expected purchase days in the next s units, from the model's definition.

    Given a purchase rate λ and a dropout probability p, a customer alive now makes
    (1 - e^(-λ p s)) / p purchase days in expectation in the next s units (each purchase at rate
    λ, after each a dropout with probability p). The rate's posterior Gamma(r + x, α + T) turns
    this into (1 - (1 + p u)^-(r+x)) / p, u = s / (α + T); this integrates that over p's posterior
    Beta(a, b + x) with mp.quad, no hypergeometric function. The integral is split at quantiles of
    the beta distribution and where (1 + p u)^-(r+x) turns; where the density has an infinite end
    (a < 1 at 0, b + x < 1 at 1) p = v^(1/a) below 1/2 and 1 - p = w^(1/(b+x)) above make it finite.
    """
    with mp.workdps(digits):
        r, alpha, a, b, x, big_t, s = map(mp.mpf, (r, alpha, a, b, x, big_t, s))
        k, beta, u = r + x, b + x, s / (alpha + big_t)
        norm = 1 / mp.beta(a, beta)
        half = mp.mpf(1) / 2

        def purchases(p):
            return -mp.expm1(-k * mp.log1p(p * u)) / p if p > 0 else k * u

        def integrand(p):
            return purchases(p) * p ** (a - 1) * (1 - p) ** (beta - 1) * norm

        def near_zero(v):  # p = v^(1/a): p^(a-1) dp = dv / a
            p = v ** (1 / a)
            return purchases(p) * (1 - p) ** (beta - 1) * norm / a

        def near_one(w):  # 1 - p = w^(1/beta): (1 - p)^(beta-1) dp = -dw / beta
            p = 1 - w ** (1 / beta)
            return purchases(p) * p ** (a - 1) * norm / beta

        levels = [1e-15, 1e-9, 1e-5, 1e-3, 0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.98, 1 - 1e-3, 1 - 1e-5, 1 - 1e-9]
        cuts = {float(betaincinv(float(a), float(beta), level)) for level in levels}
        cuts |= {float(f / u) for f in (1e-2, 1e-1, 1, 10, 100)} | {float(f / (k * u)) for f in (1e-1, 1, 10)}
        below = sorted(mp.mpf(c) for c in cuts if 0 < c < half)
        above = sorted(mp.mpf(c) for c in cuts if half < c < 1)
        if a < 1:
            total = mp.quad(near_zero, sorted({mp.mpf(0), half ** a} | {c ** a for c in below}))
        else:
            total = mp.quad(integrand, [mp.mpf(0), *below, half])
        if beta < 1:
            total += mp.quad(near_one, sorted({mp.mpf(0), half ** beta} | {(1 - c) ** beta for c in above}))
        else:
            total += mp.quad(integrand, [half, *above, mp.mpf(1)])
        return float(total)


def no_purchase_probability(r, alpha, a, b, x, t_x, big_t, s):
    """P(no purchase day in the next s units | x, t_x, T), integrated from the model's definition.

    Given a purchase rate λ and a dropout probability p, the history has likelihood
    (1 - p)^x λ^x e^(-λT) with the customer alive at T, plus, when x > 0, p (1 - p)^(x-1) λ^x
    e^(-λ t_x) with the customer gone after the last purchase. A customer alive at T makes no
    purchase in the next s units with probability e^(-λs) (dropout comes only after a purchase);
    one gone makes none. Both are integrated over the priors λ ~ Gamma(r, α) and p ~ Beta(a, b)
    numerically (scipy's adaptive quadrature, each term separately in λ and in p, as the
    likelihood factors), without the closed forms of P(alive) or of the posterior.
    """
    from scipy import integrate
    from scipy.special import betaln, gammaln

    def over_rate(time):  # ∫ Gamma(λ; r, α) λ^x e^(-λ time) dλ, in v = ln λ, relative to e^peak
        peak_v = np.log((r + x) / (alpha + time))
        peak = (r + x) * peak_v - (r + x)

        def integrand(v):
            return np.exp((r + x) * v - (alpha + time) * np.exp(v) - peak)
        value = sum(integrate.quad(integrand, low, high, epsabs=0, epsrel=1e-13, limit=200)[0]
                    for low, high in ((-np.inf, peak_v - 5), (peak_v - 5, peak_v), (peak_v, peak_v + 5), (peak_v + 5, np.inf)))
        return np.log(value) + peak + r * np.log(alpha) - gammaln(r)

    def over_dropout(first, second):  # ln ∫ Beta(p; a, b) p^first (1 - p)^second dp
        def integrand(q):
            return q ** (a + first - 1) * (1 - q) ** (b + second - 1)
        value = sum(integrate.quad(integrand, low, high, epsabs=0, epsrel=1e-13, limit=200)[0]
                    for low, high in ((0, 0.5), (0.5, 1)))
        return np.log(value) - betaln(a, b)

    alive = over_dropout(0, x)
    gone = np.exp(over_dropout(1, x - 1) + over_rate(t_x)) if x > 0 else 0.0
    return float((np.exp(alive + over_rate(big_t + s)) + gone) / (np.exp(alive + over_rate(big_t)) + gone))


def paper_expected_purchases(r, alpha, a, b, x, t_x, big_t, t):
    """Eq. 10: E[Y(t) | x, t_x, T], with the hypergeometric function as printed (no transformation)."""
    x, t_x, big_t = map(np.asarray, (x, t_x, big_t))
    z = t / (alpha + big_t + t)
    numerator = (a + b + x - 1) / (a - 1) * (
        1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    )
    denominator = 1 + np.where(x > 0, a / (b + np.maximum(x, 1) - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x), 0.0)
    return numerator / denominator


def mpmath_bgnbd_log_likelihood(r, alpha, a, b, x, t_x, big_t):
    """Eq. 6 for one customer: ln of
    B(a,b+x)/B(a,b) Γ(r+x)α^r/(Γ(r)(α+T)^(r+x)) + δ B(a+1,b+x-1)/B(a,b) Γ(r+x)α^r/(Γ(r)(α+t_x)^(r+x))."""
    with mp.workdps(DIGITS):
        r, alpha, a, b, x, t_x, big_t = map(mp.mpf, (r, alpha, a, b, x, t_x, big_t))
        common = mp.gamma(r + x) * alpha ** r / mp.gamma(r) / mp.beta(a, b)
        value = mp.beta(a, b + x) * common / (alpha + big_t) ** (r + x)
        if x > 0:
            value += mp.beta(a + 1, b + x - 1) * common / (alpha + t_x) ** (r + x)
        return float(mp.log(value))


def paper_bgnbd_log_likelihood(r, alpha, a, b, x, t_x, big_t):
    """Eq. 6 summed over customers."""
    return sum(mpmath_bgnbd_log_likelihood(r, alpha, a, b, *row) for row in zip(x, t_x, big_t))


def paper_gamma_gamma_mean(p, q, gamma, x, zbar):
    """Hardie's note, eq. 5: a weighted mean of the population mean pγ/(q-1) and the observed mean."""
    x = np.asarray(x, dtype=float)
    zbar = np.nan_to_num(np.asarray(zbar, dtype=float))
    weight = (q - 1) / (p * x + q - 1)
    return weight * p * gamma / (q - 1) + (1 - weight) * zbar


def day_by_day_discounted_purchases(params, x, t_x, big_t, horizon_days, unit_days, rate):
    """Expected purchases of each day of the horizon, discounted at the day's midpoint."""
    total = np.zeros(len(x))
    previous = np.zeros(len(x))
    for day in range(1, horizon_days + 1):
        current = paper_expected_purchases(*params, x, t_x, big_t, day / unit_days)
        total += (current - previous) * (1 + rate) ** (-(day - 0.5) / 365)
        previous = current
    return total




def paper_unconditional_purchases(r, alpha, a, b, t):
    """Eq. 7: E[X(t)], the expected purchase days of a new customer in their first t units."""
    t = np.asarray(t, dtype=float)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def mpmath_gamma_gamma_log_likelihood(p, q, gamma, x, zbar):
    """Hardie's note, eq. 3, for one customer with x > 0: ln f(zbar | p, q, γ; x)."""
    with mp.workdps(DIGITS):
        p, q, gamma, x, zbar = map(mp.mpf, (p, q, gamma, x, zbar))
        return float(mp.log(mp.gamma(p * x + q) / (mp.gamma(p * x) * mp.gamma(q)) * gamma ** q * zbar ** (p * x - 1)
                            * x ** (p * x) / (gamma + zbar * x) ** (p * x + q)))


def paper_gamma_gamma_log_likelihood(p, q, gamma, x, zbar):
    """Hardie's note, eq. 3 summed over customers with x > 0."""
    return sum(mpmath_gamma_gamma_log_likelihood(p, q, gamma, xi, mi) for xi, mi in zip(x, zbar) if xi > 0)


def purchase_summaries(purchases, as_of: date, unit_days: int) -> dict[str, dict]:
    """x, t_x, T and the mean repeat-day value per customer from (customer_id, day, value) tuples
    on or before the as-of date: several purchases on one day are one purchase day."""
    days: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for customer_id, day, value in purchases:
        if day <= as_of:
            days[customer_id][day] += Decimal(value)
    summaries = {}
    for customer_id, by_day in days.items():
        ordered = sorted(by_day)
        repeat = [by_day[d] for d in ordered[1:]]
        summaries[customer_id] = {
            "x": len(ordered) - 1,
            "t_x": (ordered[-1] - ordered[0]).days / unit_days,
            "T": (as_of - ordered[0]).days / unit_days,
            "zbar": float(sum(repeat) / len(repeat)) if repeat else None,
        }
    return summaries


def check_predictions(model: dict, rows: list[dict], *, horizon_days: int, unit_days: int, rate: float) -> list[str]:
    """Differences between built crm__clv rows and the papers' formulas at the built parameters."""
    x = np.array([r["frequency"] for r in rows], dtype=float)
    t_x = np.array([r["recency"] for r in rows])
    big_t = np.array([r["customer_age"] for r in rows])
    zbar = np.array([np.nan if r["repeat_order_value"] is None else r["repeat_order_value"] for r in rows])
    bgnbd = [model[f"bgnbd_{n}"] for n in ("r", "alpha", "a", "b")]
    gg = [model[f"gg_{n}"] for n in ("p", "q", "gamma")]
    order_value = paper_gamma_gamma_mean(*gg, x, zbar)
    expected = {
        "p_alive": paper_p_alive(*bgnbd, x, t_x, big_t),
        "expected_purchases": paper_expected_purchases(*bgnbd, x, t_x, big_t, horizon_days / unit_days),
        "expected_order_value": order_value,
        "predicted_clv": order_value * day_by_day_discounted_purchases(bgnbd, x, t_x, big_t, horizon_days, unit_days, rate),
    }
    tolerance = {"p_alive": 1e-9, "expected_purchases": 1e-9, "expected_order_value": 1e-9, "predicted_clv": 1e-6}
    problems = []
    for column, values in expected.items():
        built = np.array([r[column] for r in rows], dtype=float)
        bad = ~np.isclose(built, values, rtol=tolerance[column], atol=1e-12)
        for i in np.flatnonzero(bad)[:5]:
            problems.append(f"{rows[i]['customer_id']} {column}: built {built[i]!r}, papers' formula {values[i]!r}")
    return problems
