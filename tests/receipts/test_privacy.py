"""Receipts are financial records, treated as payments' Charge rows are: in "Your data", and
kept when the account is erased (the user row stays, anonymised), so the numbers still add up."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.payments.models import Charge
from marketplace.privacy.services import erase_account, export_user_data
from marketplace.receipts import jobs, services
from marketplace.receipts.models import Receipt
from tests.factories import PASSWORD
from tests.receipts.conftest import captured_pool

pytestmark = pytest.mark.usefixtures("ctx")


def test_receipts_are_exported_and_kept_on_erasure_like_charges(
    db_session, gateway, council, moderator, provider, mailbox
):
    _pool, (payer, *_others) = captured_pool(db_session, gateway, council, moderator, provider)
    name = payer.display_name
    jobs.issue_due(db_session)
    (receipt,) = db_session.scalars(select(Receipt).where(Receipt.user_id == payer.id)).all()
    exported = export_user_data(db_session, payer)
    (row,) = exported["receipts"]
    assert row["number"] == receipt.number and row["amount_pence"] == receipt.amount_pence
    assert len(exported["payments"]) == 1  # the charge it is for, exported alongside

    erase_account(db_session, payer, PASSWORD)
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(Receipt, receipt.id) is not None  # kept, as the charge is
    assert db_session.scalars(select(Charge).where(Charge.user_id == payer.id)).all()
    page = services.page_for(db_session, db_session.get(Receipt, receipt.id))
    assert (name, page.payer_name) == (name, "Former member")  # never the name they had
    assert page.amount == "£30"


def test_a_payment_of_an_erased_account_is_receipted_but_nobody_is_emailed(
    db_session, gateway, council, moderator, provider, mailbox
):
    _pool, (payer, *_others) = captured_pool(db_session, gateway, council, moderator, provider)
    email = payer.email
    erase_account(db_session, payer, PASSWORD)
    db_session.commit()
    mailbox.clear()
    jobs.issue_due(db_session)
    assert db_session.scalars(select(Receipt).where(Receipt.user_id == payer.id)).one()
    assert [m for m in mailbox.messages if m["To"] == email] == []
