"""BG/NBD and Gamma-Gamma written from the papers, independently of the package's Python models.

The printed formulas (no hypergeometric transformation, the weighted-mean form of the spend
model, the likelihood as a sum of two products): the package's predictions and log-likelihoods
are checked against these, never against themselves.

- Fader, Hardie & Lee (2005), "Counting your customers" the easy way (BG/NBD), eqs. 6, 7, 10, 11.
- Fader, Hardie & Lee (2005), RFM and CLV; Hardie (2013), The Gamma-Gamma model of monetary value.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from decimal import Decimal

import numpy as np
from scipy.special import gammaln, hyp2f1

def paper_p_alive(r, alpha, a, b, x, t_x, big_t):
    """Fader, Hardie & Lee (2005), eq. 11 / Hardie's note: 1 / (1 + δ(x>0) a/(b+x-1) ((α+T)/(α+t_x))^(r+x))."""
    x, t_x, big_t = map(np.asarray, (x, t_x, big_t))
    ratio = a / (b + np.maximum(x, 1) - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)
    return np.where(x > 0, 1.0 / (1.0 + ratio), 1.0)


def paper_expected_purchases(r, alpha, a, b, x, t_x, big_t, t):
    """Eq. 10: E[Y(t) | x, t_x, T], with the hypergeometric function as printed (no transformation)."""
    x, t_x, big_t = map(np.asarray, (x, t_x, big_t))
    z = t / (alpha + big_t + t)
    numerator = (a + b + x - 1) / (a - 1) * (
        1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    )
    denominator = 1 + np.where(x > 0, a / (b + np.maximum(x, 1) - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x), 0.0)
    return numerator / denominator


def paper_bgnbd_log_likelihood(r, alpha, a, b, x, t_x, big_t):
    """Eq. 6 summed: ln of B(a,b+x)/B(a,b) Γ(r+x)α^r/(Γ(r)(α+T)^(r+x)) + δ B(a+1,b+x-1)/B(a,b) Γ(r+x)α^r/(Γ(r)(α+t_x)^(r+x))."""
    total = 0.0
    for xi, txi, ti in zip(x, t_x, big_t):
        log_common = math.lgamma(r + xi) - math.lgamma(r) + r * math.log(alpha)
        log_beta_ab = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
        first = math.exp(
            math.lgamma(a) + math.lgamma(b + xi) - math.lgamma(a + b + xi) - log_beta_ab
            + log_common - (r + xi) * math.log(alpha + ti)
        )
        second = 0.0
        if xi > 0:
            second = math.exp(
                math.lgamma(a + 1) + math.lgamma(b + xi - 1) - math.lgamma(a + b + xi) - log_beta_ab
                + log_common - (r + xi) * math.log(alpha + txi)
            )
        total += math.log(first + second)
    return total


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


def paper_gamma_gamma_log_likelihood(p, q, gamma, x, zbar):
    """Hardie's note, eq. 3 summed over customers with x > 0."""
    total = 0.0
    for xi, mi in zip(x, zbar):
        if xi > 0:
            total += (gammaln(p * xi + q) - gammaln(p * xi) - gammaln(q) + q * math.log(gamma)
                      + (p * xi - 1) * math.log(mi) + p * xi * math.log(xi) - (p * xi + q) * math.log(gamma + mi * xi))
    return total


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
