"""Independent Python for the survival views (docs/definitions.md "Survival curves", "Time to
second order", "Retention flavours"), written from the definitions, not from the SQL.

The observations come from reference.py's window model (its spells and counted orders): one
(cohort, duration in days, event) per customer. The Kaplan-Meier estimate here is exact
(fractions); tests/python/test_survival.py compares the marts with lifelines' KaplanMeierFitter
for the first spells and with this estimate for the time to the second order.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from fractions import Fraction
from typing import Iterable, NamedTuple

import reference as ref

Z_975 = 1.959963984540054  # the 97.5% quantile of the standard normal distribution
REORDER_WINDOWS = (30, 60, 90)


class Observation(NamedTuple):
    customer_id: str
    cohort_period: date
    duration_days: int
    is_event: bool
    days_observed: int


def first_spell_observations(m) -> list[Observation]:
    """The first spell of each customer: churned on its end day when that is on or before the
    as-of date, else censored at the as-of date."""
    observations = []
    for customer_id, spells in m.spells.items():
        first = spells[0]
        churned = first.ends_on <= m.as_of
        end = first.ends_on if churned else m.as_of
        observations.append(Observation(customer_id, m.period_of(first.started_on), (end - first.started_on).days,
                                        churned, (m.as_of - first.started_on).days))
    return observations


def second_order_observations(m) -> list[Observation]:
    """Days from the first to the second distinct counted order day, or censored at the as-of date."""
    days: dict[str, set[date]] = defaultdict(set)
    for order in m.orders:
        days[order["customer_id"]].add(order["order_date"])
    observations = []
    for customer_id, customer_days in days.items():
        ordered = sorted(customer_days)
        first = ordered[0]
        end = ordered[1] if len(ordered) > 1 else m.as_of
        observations.append(Observation(customer_id, m.period_of(first), (end - first).days, len(ordered) > 1,
                                        (m.as_of - first).days))
    return observations


def curves(observations: list[Observation], segments: dict[str, dict[str, str]] | None = None
           ) -> dict[tuple, list[Observation]]:
    """(curve, cohort_period, segment_name, segment_value) -> the curve's observations."""
    grouped: dict[tuple, list[Observation]] = defaultdict(list)
    for o in observations:
        grouped[("overall", None, None, None)].append(o)
        grouped[("cohort", o.cohort_period, None, None)].append(o)
        for name, values in (segments or {}).items():
            grouped[("segment", None, name, values[o.customer_id])].append(o)
    return dict(grouped)


def kaplan_meier(observations: Iterable[Observation]) -> list[dict]:
    """One row per distinct duration: at risk (duration >= t), events, censored, the exact
    product-limit survival and the exponential Greenwood 95% interval."""
    events: dict[int, int] = defaultdict(int)
    censored: dict[int, int] = defaultdict(int)
    for o in observations:
        (events if o.is_event else censored)[o.duration_days] += 1
    at_risk = sum(events.values()) + sum(censored.values())
    survival, greenwood = Fraction(1), Fraction(0)
    rows = []
    for t in sorted(set(events) | set(censored)):
        d = events[t]
        if d:
            survival *= Fraction(at_risk - d, at_risk)
            if d < at_risk:
                greenwood += Fraction(d, at_risk * (at_risk - d))
        if survival in (0, 1):
            lower = upper = float(survival)
        else:
            log_s = math.log(survival)
            spread = Z_975 * math.sqrt(greenwood) / -log_s
            lower, upper = math.exp(log_s * math.exp(spread)), math.exp(log_s * math.exp(-spread))
        rows.append({"duration_days": t, "customers_at_risk": at_risk, "events": d, "censored": censored[t],
                     "survival": survival, "survival_lower": lower, "survival_upper": upper})
        at_risk -= d + censored[t]
    return rows


def median_duration(rows: list[dict]) -> int | None:
    """The first duration where the estimate is at most one half (lifelines' median)."""
    return next((row["duration_days"] for row in rows if row["survival"] <= Fraction(1, 2)), None)


def second_order_rates(observations: list[Observation]) -> dict:
    """Customers, reorders, the median and, per window, the customers observed that long and
    those of them who reordered within it."""
    result = {"customers": len(observations), "reordered_customers": sum(o.is_event for o in observations),
              "median_days_to_second_order": median_duration(kaplan_meier(observations))}
    for days in REORDER_WINDOWS:
        observed = [o for o in observations if o.days_observed >= days]
        reordered = sum(1 for o in observed if o.is_event and o.duration_days <= days)
        result[f"customers_observed_{days}d"] = len(observed)
        result[f"reordered_within_{days}d"] = reordered
        result[f"reorder_rate_{days}d"] = ref.ratio(reordered, len(observed))
    return result


def bracket_rows(m, brackets: list[tuple[int, int]]) -> list[dict]:
    """Per cohort and period range [first, last] since acquisition, begun by the as-of date: the
    cohort customers with an order in any period of the range."""
    index = {start: i for i, start in enumerate(m.spine)}
    cohort_of = {c: m.period_of(d) for c, d in m.first_order_date.items()}
    ages: dict[str, set[int]] = defaultdict(set)
    for order in m.orders:
        c = order["customer_id"]
        ages[c].add(index[m.period_of(order["order_date"])] - index[cohort_of[c]])
    members: dict[date, list[str]] = defaultdict(list)
    for c, cohort in cohort_of.items():
        members[cohort].append(c)
    rows = []
    for cohort in sorted(members):
        for first, last in brackets:
            if index[cohort] + first >= len(m.spine):
                continue
            last_index = index[cohort] + last
            active = sum(1 for c in members[cohort] if any(first <= k <= last for k in ages[c]))
            rows.append({
                "cohort_period": cohort, "first_period_since_acquisition": first,
                "last_period_since_acquisition": last,
                "is_complete_bracket": last_index < len(m.spine) and m.end_of(m.spine[last_index]) <= m.as_of,
                "cohort_size": len(members[cohort]), "active_customers": active,
                "retention_rate": ref.ratio(active, len(members[cohort])),
            })
    return rows
