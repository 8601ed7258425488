"""Payouts recorded truthfully: what each provider is owed and was paid (oldest owed settled
first), recorded by an admin or the CLI with a date and reference, never more than is owed,
seen and exported by the provider's own staff only."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pyotp
import pytest
from sqlalchemy import select

from marketplace.audit import AuditEntry
from marketplace.db import utcnow
from marketplace.errors import DomainError
from marketplace.organisations.models import ApprovalStatus, OrganisationKind
from marketplace.payments import payouts
from marketplace.payments import services as payments
from marketplace.payments.models import Payout
from tests.factories import OrganisationFactory, StaffFactory, UserFactory
from tests.helpers import post, sign_in


@pytest.fixture
def org(db_session):
    found = OrganisationFactory(kind=OrganisationKind.PROVIDER.value, name="Harbour Arts CIC")
    db_session.commit()
    return found


def owe(db_session, org, pence: int, what: str):
    entry = payments.record_payout_owed(db_session, org.id, pence, what)
    db_session.flush()
    return entry


def test_payouts_settle_what_is_owed_oldest_first(db_session, org):
    other = OrganisationFactory()
    owe(db_session, org, 9000, "pool 1 month 1")
    owe(db_session, org, 3000, "pool 1 month 1 invoice")
    owe(db_session, other, 5000, "pool 2 month 1")  # another provider's: never counted here
    assert payouts.balance_owed(db_session, org.id) == 12000
    payouts.record_payout(db_session, None, org, 9000, "BACS 1", date(2026, 3, 2))
    first, second = payouts.owed_items(db_session, [org.id])[org.id]
    assert (first.what, first.paid_on) == ("pool 1 month 1", date(2026, 3, 2))
    assert (second.what, second.paid_on) == ("pool 1 month 1 invoice", None)
    assert second.pool_month == (1, 1, True) and first.pool_month == (1, 1, False)
    # A part payout does not settle it; the one that completes it gives its date.
    payouts.record_payout(db_session, None, org, 1000, "BACS 2", date(2026, 3, 9))
    assert payouts.owed_items(db_session, [org.id])[org.id][1].paid_on is None
    payouts.record_payout(db_session, None, org, 2000, "BACS 3", date(2026, 3, 16))
    assert payouts.owed_items(db_session, [org.id])[org.id][1].paid_on == date(2026, 3, 16)
    assert payouts.balance_owed(db_session, org.id) == 0
    assert payouts.balance_owed(db_session, other.id) == 5000


def test_the_ledger_runs_in_date_order_with_what_is_still_owed(db_session, org):
    owe(db_session, org, 9000, "pool 1 month 1")
    payouts.record_payout(db_session, None, org, 4000, "BACS 1")
    book = payouts.ledger(db_session, org)
    assert [(x.owed_pence, x.paid_pence, x.balance_pence) for x in book.lines] == [
        (9000, 0, 9000),
        (0, 4000, 5000),
    ]
    assert (book.owed_pence, book.paid_pence, book.balance_pence) == (9000, 4000, 5000)
    found = list(
        csv.reader(io.StringIO(payouts.as_csv(book, {book.lines[0].item.entry_id: "Art"})))
    )
    assert found[0] == payouts.CSV_COLUMNS
    today = utcnow().date().isoformat()
    assert found[1] == [today, "Art", "£90", "", "9000", "", "", "", "9000"]
    assert found[2] == [today, "Payout", "", "£40", "", "4000", "BACS 1", "", "5000"]


@pytest.mark.parametrize(
    ("amount", "reference", "paid_on", "field", "message"),
    [
        (0, "BACS", None, "amount", "Enter an amount of more than £0"),
        (9001, "BACS", None, "amount", "Harbour Arts CIC is owed £90: a payout cannot be more"),
        (100, "  ", None, "reference", "Enter the bank transfer's reference"),
        (100, "x" * 201, None, "reference", "characters or fewer"),
        (100, "BACS", utcnow().date() + timedelta(days=2), "paid_on", "today or in the past"),
    ],
)
def test_a_payout_is_refused_unless_it_is_real(
    db_session, org, amount, reference, paid_on, field, message
):
    owe(db_session, org, 9000, "pool 1 month 1")
    with pytest.raises(DomainError) as refused:
        payouts.record_payout(db_session, None, org, amount, reference, paid_on)
    assert refused.value.field == field and message in refused.value.message
    assert db_session.scalars(select(Payout)).all() == []


def test_nothing_owed_means_no_payout_and_a_reference_is_recorded_once(db_session, org):
    with pytest.raises(DomainError, match="Nothing is owed to Harbour Arts CIC"):
        payouts.record_payout(db_session, None, org, 100, "BACS 1")
    owe(db_session, org, 9000, "pool 1 month 1")
    admin = UserFactory()
    payouts.record_payout(db_session, admin, org, 100, "BACS 1", date(2026, 1, 2))
    with pytest.raises(DomainError, match="already recorded") as refused:
        payouts.record_payout(db_session, None, org, 100, " BACS  1 ")
    assert refused.value.field == "reference"
    (entry,) = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "payout.recorded")
    ).all()
    assert (entry.actor_id, entry.subject_id) == (admin.id, org.id)
    assert "100 pence paid on 2026-01-02, reference BACS 1" in entry.detail


def test_the_command_records_a_payout_and_says_what_is_still_owed(app, db_session, org):
    owe(db_session, org, 9000, "pool 1 month 1")
    db_session.commit()
    runner = app.test_cli_runner()
    args = ["payments", "record-payout", "--organisation", str(org.id)]
    done = runner.invoke(args=[*args, "--amount", "4000", "--reference", "BACS 9", "--date",
                               "2026-02-01"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert (
        "Recorded £40 paid to Harbour Arts CIC on 2026-02-01 (reference BACS 9). "
        "Still owed: £50." in done.output
    )
    (payout,) = db_session.scalars(select(Payout)).all()
    assert (payout.amount_pence, payout.paid_on, payout.recorded_by_id) == (
        4000,
        date(2026, 2, 1),
        None,
    )
    refused = runner.invoke(args=[*args, "--amount", "6000", "--reference", "BACS 10"])
    assert refused.exit_code != 0 and "is owed £50" in refused.output
    missing = runner.invoke(
        args=["payments", "record-payout", "--organisation", "999999", "--amount", "1",
              "--reference", "x"]
    )  # fmt: skip
    assert missing.exit_code != 0 and "There is no organisation 999999" in missing.output


# --- pages -------------------------------------------------------------------------------------


@pytest.fixture
def people(db_session, org):
    """Everyone who might ask for this provider's payouts."""
    staff = UserFactory(roles=["provider_staff"])
    StaffFactory(organisation=org, user=staff)
    pending = UserFactory(roles=["provider_staff"])
    StaffFactory(organisation=org, user=pending, status=ApprovalStatus.PENDING.value)
    other_staff = UserFactory(roles=["provider_staff"])
    StaffFactory(organisation=OrganisationFactory(), user=other_staff)
    admin = UserFactory(
        roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
    )
    holder = UserFactory(roles=["holder"])
    db_session.commit()
    return {
        "staff": staff,
        "pending staff": pending,
        "other provider's staff": other_staff,
        "admin": admin,
        "holder": holder,
    }


def client_for(app, person):
    client = app.test_client()
    if person is not None:
        sign_in(client, person)
    return client


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("staff", 200),
        ("admin", 200),
        ("pending staff", 404),
        ("other provider's staff", 404),
        ("holder", 404),
        (None, 302),
    ],
)
@pytest.mark.parametrize("suffix", ["", ".csv"])
def test_only_the_providers_staff_and_admins_see_its_payouts(
    app, db_session, org, people, who, expected, suffix
):
    owe(db_session, org, 9000, "pool 1 month 1")
    db_session.commit()
    client = client_for(app, people.get(who))
    response = client.get(f"/organisations/{org.id}/payouts{suffix}")
    assert response.status_code == expected
    if expected == 302:
        assert "/sign-in" in response.headers["Location"]
    if expected == 200 and suffix == ".csv":
        assert response.mimetype == "text/csv"
        assert "9000" in response.get_data(as_text=True)
    elif expected == 200:
        page = response.get_data(as_text=True)
        assert "£90" in page and "Not paid on yet" in page
        assert ("Record a payout paid" in page) == (who == "admin")


@pytest.mark.parametrize(
    ("who", "expected"),
    [("admin", 200), ("staff", 403), ("holder", 403), ("other provider's staff", 403), (None, 302)],
)
def test_only_an_admin_records_a_payout(app, db_session, org, people, who, expected):
    owe(db_session, org, 9000, "pool 1 month 1")
    db_session.commit()
    client = client_for(app, people.get(who))
    path = f"/admin/organisations/{org.id}/payouts/new"
    assert client.get(path).status_code == expected
    response = client.post(path, data={"amount": "90", "reference": "BACS 1"})
    # Without the admin's page there is no CSRF token either: nothing is recorded.
    assert response.status_code in (expected, 400)
    assert db_session.scalars(select(Payout)).all() == []


def test_an_admin_records_a_payout_and_the_ledger_says_so(app, db_session, org, people):
    owe(db_session, org, 9000, "pool 1 month 1")
    db_session.commit()
    admin = client_for(app, people["admin"])
    path = f"/admin/organisations/{org.id}/payouts/new"
    page = admin.get(path).get_data(as_text=True)
    assert "Harbour Arts CIC is owed £90" in page and "moves no money" in page
    refused = post(admin, path, {"amount": "91", "reference": "BACS 1"})
    assert refused.status_code == 200
    assert "is owed £90: a payout cannot be more than that" in refused.get_data(as_text=True)
    wrong = {"amount": "90", "reference": "BACS 1", "paid_on": ["31", "2", "2026"]}
    bad_date = post(admin, path, wrong)
    assert "Enter a real date" in bad_date.get_data(as_text=True)
    done = post(admin, path, {"amount": "90", "reference": "BACS 1", "paid_on": ["2", "3", "2026"]})
    assert done.status_code == 302
    (payout,) = db_session.scalars(select(Payout)).all()
    assert (payout.amount_pence, payout.paid_on, payout.recorded_by_id) == (
        9000,
        date(2026, 3, 2),
        people["admin"].id,
    )
    staff = client_for(app, people["staff"])
    page = staff.get(f"/organisations/{org.id}/payouts").get_data(as_text=True)
    assert "Paid on to you on 2 March 2026" in page and "BACS 1" in page
