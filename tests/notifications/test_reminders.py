"""No reminder for something already done: each reminder checks again right before it goes.

The only reminder email is the membership payment reminder (buddy feedback is asked on the
pairing page, not by email). It is claimed with a conditional UPDATE just before sending, so a
payment that lands after the job has read its list still means no email.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, text

from marketplace.db import utcnow
from marketplace.memberships import services
from marketplace.memberships.models import Membership, MembershipStatus
from marketplace.wellbeing import breaks
from tests.factories import UserFactory
from tests.memberships.conftest import make_ulo

pytestmark = pytest.mark.usefixtures("ctx")


def _payment_due(db_session, org) -> tuple:
    person = UserFactory()
    membership = Membership(
        organisation_id=org.id,
        user_id=person.id,
        basis="fee",
        basis_from=date(2026, 11, 1),
        status=MembershipStatus.PAYMENT_DUE.value,
        live=True,
        payment_due_by=utcnow() + timedelta(days=14),
        joined_at=utcnow(),
    )
    db_session.add(membership)
    db_session.commit()
    return person, membership


def test_a_payment_that_arrives_after_the_list_is_read_means_no_reminder(app, db_session, mailbox):
    _, org = make_ulo(db_session)
    paid, paid_membership = _payment_due(db_session, org)
    unpaid, _ = _payment_due(db_session, org)

    # The moment the job has read who is due, one of them pays (as a webhook would).
    connection = db_session.connection()
    fired = []

    @event.listens_for(connection, "after_cursor_execute")
    def pay_now(conn, _cursor, statement, *_args):
        if not fired and "reminder_sent_at IS NULL" in statement and "SELECT" in statement:
            fired.append(True)
            conn.exec_driver_sql(
                f"UPDATE memberships SET status = 'active' WHERE id = {paid_membership.id:d}"
            )

    try:
        report = services.remind_payment_due(db_session)
    finally:
        event.remove(connection, "after_cursor_execute", pay_now)
    db_session.commit()  # the reminder goes with the claim's commit
    assert fired
    assert report.sent == 1
    assert [m["To"] for m in mailbox.messages] == [unpaid.email]
    assert (
        db_session.execute(
            text("SELECT reminder_sent_at FROM memberships WHERE id = :id"),
            {"id": paid_membership.id},
        ).scalar()
        is None
    )


def test_a_reminder_is_not_sent_twice(app, db_session, mailbox):
    _, org = make_ulo(db_session)
    person, _ = _payment_due(db_session, org)
    assert services.remind_payment_due(db_session).sent == 1
    db_session.commit()
    assert services.remind_payment_due(db_session).sent == 0
    db_session.commit()
    assert [m["To"] for m in mailbox.messages] == [person.email]


def test_a_payment_reminder_is_money_and_still_goes_during_a_break(app, db_session, mailbox):
    _, org = make_ulo(db_session)
    person, _ = _payment_due(db_session, org)
    breaks.start_break(db_session, person, "open")
    db_session.commit()
    mailbox.clear()  # the break's own messages to others, if any
    assert services.remind_payment_due(db_session).sent == 1
    db_session.commit()
    assert "did not go through" in mailbox.last_to(person.email).get_payload()
