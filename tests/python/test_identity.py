"""Identity resolution (crm_identity: email) on a generated shop whose truth is known: people who
check out several times as guests, each time under a new customer id, with their email spelled
differently (case, spaces, Gmail dots and +tags), beside customers without an email and guests
without a record. The marts must count the true number of persons, and every figure (repeat
rate, CLV, retention) must equal the reference, which rolls the customers up independently
(reference.resolve_identity).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

import reference as ref
from dbt_project_runner import build
from mart_comparison import COUNTED_STATUSES, IGNORED_STATUSES, compare_build, today_utc

START = date(2023, 1, 2)
MARTS = ["crm__customers", "crm__repeat_rate", "crm__clv", "crm__retention", "crm__cohort_retention",
         "crm__aov", "crm__churn"]


def email_spellings(person: int, rng: random.Random) -> list[str]:
    """Ways one person writes their address at checkout; all the same person with Gmail aliases."""
    if person % 3 == 0:
        return [f"Ann.Lee{person}@gmail.com", f"annlee{person}+shop@gmail.com",
                f" ANN.LEE{person}@GoogleMail.com ", f"annlee{person}@gmail.com"]
    return [f"person{person}@shop.example", f"Person{person}@Shop.Example", f"  person{person}@shop.example "]


def guest_shop(seed: int = 5) -> tuple[dict, int, int]:
    """Raw tables, the true number of persons (Gmail aliases resolved) and of merged ids."""
    rng = random.Random(seed)
    raw = {"orders": [], "customers": []}
    persons = merged_ids = 0
    number = 0

    def add_customer(customer_id: str, email: str | None, first_day: int) -> None:
        nonlocal number
        raw["customers"].append({"customer_id": customer_id, "email": email,
                                 "created_at": (START + timedelta(days=first_day)).isoformat()})
        for day in sorted(rng.sample(range(first_day, first_day + 300), rng.choice([1, 1, 2, 3]))):
            number += 1
            raw["orders"].append({"order_id": f"O{number:05d}", "customer_id": customer_id,
                                  "ordered_at": f"{START + timedelta(days=day)}T{rng.randrange(24):02d}:00:00Z",
                                  "status": "completed", "amount": f"{rng.randrange(1000, 9000) / 100:.2f}"})

    for person in range(60):
        spellings = email_spellings(person, rng)
        ids = rng.choice([1, 1, 2, 3, 4])
        persons += 1
        merged_ids += ids if ids > 1 else 0
        for member in range(ids):
            # the customer id grows with each checkout, but the first checkout is not the smallest id
            add_customer(f"G{rng.randrange(10**6):06d}-{person}-{member}", spellings[member % len(spellings)],
                         rng.randrange(400) + 30 * member)
    for alone in range(15):  # no email, or a null spelling: each id its own person
        persons += 1
        add_customer(f"N{alone:03d}", None if alone % 2 else "N/A", rng.randrange(400))
    for guest in range(10):  # orders without a customer record
        persons += 1
        number += 1
        raw["orders"].append({"order_id": f"O{number:05d}", "customer_id": f"X{guest:03d}",
                              "ordered_at": f"{START + timedelta(days=rng.randrange(500))}", "status": "completed",
                              "amount": "20.00"})
    return raw, persons, merged_ids


@pytest.fixture(scope="module")
def shop():
    return guest_shop()


# One build of the package (about a minute): the slow suite.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory, shop):
    raw, _, _ = shop
    return build(tmp_path_factory.mktemp("identity"), raw,
                 {"crm_identity": "email", "crm_identity_gmail_aliases": True, "crm_using_predictions": False,
                  "crm_using_nps": False, "crm_using_marketing_spend": False})


def test_the_marts_count_the_true_persons(built, shop):
    _, persons, merged_ids = shop
    assert built.scalar("select count(*) from main.crm__customers") == persons
    assert built.scalar("select count(*) from main.crm__identity_merges") == merged_ids
    # every merged person is listed with all its members and one person_id among them
    assert built.scalar("""
        select count(*) from (
            select person_id from main.crm__identity_merges
            group by person_id
            having count(*) <> max(members) or sum(case when customer_id = person_id then 1 else 0 end) <> 1
        ) as broken""") == 0


def test_every_figure_equals_the_reference_rolled_up_by_person(built, shop):
    raw, _, _ = shop
    cleaned = ref.clean(raw, today=today_utc(), counted_statuses=COUNTED_STATUSES, ignored_statuses=IGNORED_STATUSES,
                        reporting_currency="USD")
    expected = ref.compute_marts(ref.resolve_identity(cleaned, gmail_aliases=True), period="month")
    problems = compare_build(built, expected, MARTS)
    assert not problems, f"{len(problems)} differences, first ones:\n" + "\n".join(problems[:25])


def test_identity_keys():
    assert ref.identity_key("A.B+promo@GoogleMail.com", gmail_aliases=True) == "ab@gmail.com"
    assert ref.identity_key("A.B+promo@GoogleMail.com") == "a.b+promo@googlemail.com"
    assert ref.identity_key("a.b+x@example.com", gmail_aliases=True) == "a.b+x@example.com"
