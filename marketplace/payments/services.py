"""Payment rules: customers, exactly-once charges, refunds, payouts owed, webhooks.

Reconciliation with Stripe is in reconciliation.py.

Services never commit, with ONE documented exception (DESIGN §5a): `charge_once` and
`refund_charge` commit their row before calling Stripe and again after recording the answer.
A crash between "Stripe took the money" and "we wrote it down" must not be able to lose a
charge or make us charge twice, so the intent to charge is durable before the call, and the
answer is durable before anything else can happen. Everything else here only adds and flushes;
the caller commits.

Exactly once comes from our database, not from Stripe's Idempotency-Key (which we send too, for
real Stripe, but localstripe ignores): a `Charge` row with a UNIQUE key is written before the
call, and a key that already has a succeeded (or in-flight) charge is never sent again. If a
worker died after calling Stripe but before recording the answer, the next call looks for the
intent by the metadata we attached before asking again.

On PostgreSQL the charge row is locked (SELECT ... FOR UPDATE) for the length of the Stripe call,
so two workers charging the same key wait for each other. SQLite has no row locks; it is for
development, with one worker.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError
from marketplace.ops.metrics import record_payment
from marketplace.payments import events
from marketplace.payments.gateway import (
    ChargeResult,
    PaymentGateway,
    SavedCard,
    get_gateway,
)
from marketplace.payments.models import (
    Charge,
    ChargeStatus,
    LedgerEntry,
    LedgerKind,
    PaymentCustomer,
    WebhookEvent,
)
from marketplace.privacy import services as privacy

log = logging.getLogger(__name__)

# Metadata keys we put on every PaymentIntent, so reconciliation can match it to a Charge.
META_KEY = "charge_key"
META_ATTEMPT = "charge_attempt"

WebhookHandler = Callable[[Session, dict[str, Any]], None]
_handlers: dict[str, list[WebhookHandler]] = {}


class ChargeKeyConflict(DomainError):
    """The idempotency key already belongs to a different charge (another person or amount)."""


# --- Customers ----------------------------------------------------------------------------


def stored_customer_id(session: Session, user: User) -> str | None:
    """This person's Stripe customer id, if one was made for them (a read; no Stripe call)."""
    return session.scalar(
        select(PaymentCustomer.stripe_customer_id).where(PaymentCustomer.user_id == user.id)
    )


def create_stripe_customer(user: User, gateway: PaymentGateway | None = None) -> str:
    """Make a Stripe customer for this person and return its id; touches no database, so call
    it with no transaction open, then `remember_customer`."""
    gateway = gateway or get_gateway()
    # Only what Stripe needs to show a receipt; the user id lets Stripe's dashboard find us.
    return gateway.create_customer(user.email, user.display_name, {"user_id": str(user.id)})


def remember_customer(session: Session, user: User, customer_id: str) -> str:
    """Record the Stripe customer made by `create_stripe_customer`; returns the id to use.

    Two requests for the same person may both have made one: the first row written wins and
    the other customer is left unused at Stripe (it has no card, so nothing can be charged to
    it). Does not commit; the caller commits before saving a card to the returned customer.
    """
    try:
        with session.begin_nested():
            session.add(PaymentCustomer(user_id=user.id, stripe_customer_id=customer_id))
    except IntegrityError:
        existing = stored_customer_id(session, user)
        if existing is None:
            raise
        return existing
    return customer_id


def customer_for(session: Session, user: User, gateway: PaymentGateway | None = None) -> str:
    """This person's Stripe customer id, created at Stripe the first time and then reused."""
    existing = session.scalar(
        select(PaymentCustomer.stripe_customer_id).where(PaymentCustomer.user_id == user.id)
    )
    if existing is not None:
        return existing
    gateway = gateway or get_gateway()
    # Only what Stripe needs to show a receipt; the user id lets Stripe's dashboard find us.
    customer_id = gateway.create_customer(user.email, user.display_name, {"user_id": str(user.id)})
    session.add(PaymentCustomer(user_id=user.id, stripe_customer_id=customer_id))
    session.flush()  # so a second call in this transaction finds it
    return customer_id


# --- Charges ------------------------------------------------------------------------------


def _locked_charge(session: Session, **where: Any) -> Charge | None:
    """The charge, freshly read and row-locked on PostgreSQL until the next commit."""
    query = select(Charge).filter_by(**where).with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).one_or_none()


def _relock(session: Session, **where: Any) -> Charge:
    """After a commit: the same charge again, locked again (it was committed, so it exists)."""
    query = select(Charge).filter_by(**where).with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).one()


def _insert_claim(
    session: Session,
    *,
    idempotency_key: str,
    purpose: str,
    reference: str,
    user_id: int,
    amount_pence: int,
    hold: bool,
) -> bool:
    """Write a pending charge row for this key unless one exists; True if this call wrote it.

    INSERT ... ON CONFLICT DO NOTHING (PostgreSQL and SQLite alike) rather than an ORM add in
    a SAVEPOINT that an IntegrityError rolls back: the same answer in one statement."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    table = Charge.__table__
    assert isinstance(table, Table)  # noqa: S101 - a mapped class's own table, for mypy
    statement = (
        insert(table)
        .values(
            idempotency_key=idempotency_key,
            purpose=purpose,
            reference=reference,
            user_id=user_id,
            amount_pence=amount_pence,
            status=ChargeStatus.PENDING.value,
            attempts=1,
            refunded_pence=0,
            manual_capture=hold,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        # RETURNING, not rowcount: through SQLAlchemy on psycopg this INSERT's rowcount is -1
        # whether or not it wrote a row. A skipped row returns no id.
        .returning(table.c.id)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def _stripe_key(charge: Charge) -> str:
    """Stripe replays a declined answer for a reused key, so each attempt gets its own."""
    return f"{charge.idempotency_key}:attempt:{charge.attempts}"


def charge_once(
    session: Session,
    *,
    user: User,
    idempotency_key: str,
    amount_pence: int,
    payment_method_id: str,
    purpose: str,
    reference: str,
    metadata: dict[str, str] | None = None,
    gateway: PaymentGateway | None = None,
) -> Charge:
    """Charge a saved card off-session at most once per key; COMMITS (see module docstring).

    A key that already succeeded, or whose payment is still processing, is returned as it is,
    without calling Stripe. A failed or requires_action charge is tried again (a new attempt),
    e.g. after the holder changed their card. The result is on the returned Charge's status.
    """
    return _authorise_once(
        session,
        user=user,
        idempotency_key=idempotency_key,
        amount_pence=amount_pence,
        payment_method_id=payment_method_id,
        purpose=purpose,
        reference=reference,
        metadata=metadata,
        gateway=gateway,
        hold=False,
    )


def hold_once(
    session: Session,
    *,
    user: User,
    idempotency_key: str,
    amount_pence: int,
    payment_method_id: str,
    purpose: str,
    reference: str,
    metadata: dict[str, str] | None = None,
    gateway: PaymentGateway | None = None,
) -> Charge:
    """Put a hold on a saved card off-session (capture_method=manual) at most once per key;
    COMMITS, exactly like `charge_once`: the claim row is committed before Stripe is called.

    Nothing is taken: the charge ends HELD (Stripe's requires_capture) until `capture_hold`
    takes it or `release_hold` lets it go. Real Stripe keeps a card hold for 7 days, so the
    caller captures well inside that. A key already held, taken or released is returned as it
    is; a failed or requires_action hold is tried again (the stale intent cancelled first).
    """
    return _authorise_once(
        session,
        user=user,
        idempotency_key=idempotency_key,
        amount_pence=amount_pence,
        payment_method_id=payment_method_id,
        purpose=purpose,
        reference=reference,
        metadata=metadata,
        gateway=gateway,
        hold=True,
    )


# A charge in one of these states is settled for its key: never sent to Stripe again.
_FINAL = (
    ChargeStatus.SUCCEEDED,
    ChargeStatus.REFUNDED,
    ChargeStatus.HELD,
    ChargeStatus.RELEASED,
)


def _authorise_once(
    session: Session,
    *,
    user: User,
    idempotency_key: str,
    amount_pence: int,
    payment_method_id: str,
    purpose: str,
    reference: str,
    metadata: dict[str, str] | None,
    gateway: PaymentGateway | None,
    hold: bool,
) -> Charge:
    if amount_pence <= 0:
        raise DomainError("The amount must be more than nothing.")
    gateway = gateway or get_gateway()
    customer_id = customer_for(session, user, gateway)
    # The claim: one statement that writes the row unless the key has one already (then it
    # waits, on PostgreSQL, for the transaction that wrote it, and writes nothing).
    fresh = _insert_claim(
        session,
        idempotency_key=idempotency_key,
        purpose=purpose,
        reference=reference,
        user_id=user.id,
        amount_pence=amount_pence,
        hold=hold,
    )
    if fresh:
        # We wrote the row, so nobody has asked Stripe yet. The documented exception: the
        # intent to charge is durable before Stripe hears of it.
        session.commit()
        charge = _relock(session, idempotency_key=idempotency_key)
    else:
        # Another call wrote this key (earlier, or a moment ago on another worker): its row
        # is the one that counts, read afresh and locked.
        charge = _relock(session, idempotency_key=idempotency_key)
    if (
        charge.user_id != user.id
        or charge.amount_pence != amount_pence
        or bool(charge.manual_capture) != hold
    ):
        raise ChargeKeyConflict("This payment key is already used for a different payment.")

    status = ChargeStatus(charge.status)
    if status in _FINAL:
        return charge
    if status is ChargeStatus.PENDING and charge.stripe_payment_intent_id:
        return charge  # Stripe has it and is still processing; a webhook will settle it
    if status is ChargeStatus.PENDING and not fresh:
        # An earlier call may have reached Stripe before the answer was recorded (a crash or a
        # lost connection). Adopt that intent if Stripe has it; localstripe would otherwise
        # charge again, since it ignores the idempotency key we resend below.
        found = _find_remote_intent(gateway, charge)
        if found is not None:
            _record_result(session, charge, found)
            session.commit()
            return charge
    elif status in (ChargeStatus.FAILED, ChargeStatus.REQUIRES_ACTION):
        stale = charge.stripe_payment_intent_id
        if status is ChargeStatus.REQUIRES_ACTION and stale:
            # The old intent is still open at Stripe, waiting for the bank: cancel it so it
            # cannot be confirmed as well as the new one. If the member confirmed it meanwhile,
            # it is the payment: record it and make no second one.
            answer = gateway.cancel(stale)
            if answer.status in ("succeeded", "held", "processing"):
                _record_result(session, charge, answer)
                session.commit()
                return charge
        charge.attempts += 1
        charge.status = ChargeStatus.PENDING.value
        # Forget the last attempt's intent: a pending row with an intent means "processing".
        charge.stripe_payment_intent_id = None
        charge.failure_message = None
        session.commit()  # the new attempt is durable before the call, like the first
        charge = _relock(session, id=charge.id)

    intent_metadata = {
        **(metadata or {}),
        META_KEY: charge.idempotency_key,
        META_ATTEMPT: str(charge.attempts),
        "purpose": charge.purpose,
        "reference": charge.reference,
    }
    call = gateway.hold_off_session if hold else gateway.charge_off_session
    result = call(
        customer_id, payment_method_id, amount_pence, _stripe_key(charge), intent_metadata
    )
    _record_result(session, charge, result)
    session.commit()  # the answer is durable before anything else can go wrong
    return charge


_REMOTE_STATUS = {
    "succeeded": "succeeded",
    "requires_capture": "held",
    "requires_action": "requires_action",
    "processing": "processing",
    "canceled": "canceled",
}


def _find_remote_intent(gateway: PaymentGateway, charge: Charge) -> ChargeResult | None:
    for remote in gateway.recent_payment_intents(limit=1000):
        if remote.metadata.get(META_KEY) == charge.idempotency_key and remote.metadata.get(
            META_ATTEMPT
        ) == str(charge.attempts):
            return ChargeResult(_REMOTE_STATUS.get(remote.status, "failed"), remote.id, None)
    return None


def _record_result(session: Session, charge: Charge, result: ChargeResult) -> None:
    charge.stripe_payment_intent_id = result.payment_intent_id
    if result.status == "succeeded":
        if charge.status != ChargeStatus.SUCCEEDED:
            _mark_succeeded(session, charge)
            record_payment("succeeded")
    elif result.status == "held":
        charge.status = ChargeStatus.HELD.value  # authorised; nothing taken, so no ledger entry
        charge.failure_message = None
    elif result.status == "canceled":
        charge.status = ChargeStatus.RELEASED.value
    elif result.status == "processing":
        charge.status = ChargeStatus.PENDING.value
    elif result.status == "requires_action":
        charge.status = ChargeStatus.REQUIRES_ACTION.value
        charge.failure_message = result.message
        record_payment("requires_action")
    else:
        charge.status = ChargeStatus.FAILED.value
        charge.failure_message = result.message
        record_payment("failed")


# Money has left the person (and may since have come back): never asked of Stripe again.
_TAKEN = (ChargeStatus.SUCCEEDED.value, ChargeStatus.REFUNDED.value)


def capture_hold(session: Session, charge: Charge, gateway: PaymentGateway | None = None) -> Charge:
    """Take the money of a held charge, exactly once; COMMITS like `charge_once`.

    The request is committed before Stripe hears of it; a re-run after a crash asks Stripe
    again, and an intent Stripe already captured is answered as `succeeded`, not taken twice.
    A charge already taken is returned unchanged. Stripe cancels a hold left for more than 7
    days; such a charge comes back RELEASED, with nothing taken.
    """
    locked = _locked_charge(session, id=charge.id)
    if locked is None:
        raise DomainError("There is no such payment.")
    if locked.status in _TAKEN:
        return locked
    if locked.status != ChargeStatus.HELD or not locked.stripe_payment_intent_id:
        raise DomainError("Only a payment held on a card can be taken.")
    taken = capture_holds(session, [locked.id], gateway)
    if taken:
        return taken[0]
    # Another worker took it up between our two commits: wait for its answer.
    return _relock(session, id=charge.id)


def capture_holds(
    session: Session, charge_ids: Iterable[int], gateway: PaymentGateway | None = None
) -> list[Charge]:
    """Take the money of several held charges (a pool's month), each exactly once, with two
    commits for the lot instead of two each; COMMITS like `charge_once`.

    Every capture request is committed before Stripe hears of any of them; the answers are
    committed together after the calls. A crash between leaves claimed holds that a re-run asks
    Stripe about again with the same idempotency key, so nothing is taken twice. On
    PostgreSQL the rows are locked SKIP LOCKED: a charge another worker is taking right now is
    left to it, and is not returned. Returns the charges this call took or found gone, and
    those already taken (as `capture_hold` returns them), in id order.
    """
    ids = sorted(set(charge_ids))
    if not ids:
        return []
    gateway = gateway or get_gateway()
    claimed = _capturable_locked(session, ids)
    now = utcnow()
    for charge in claimed:
        if charge.status == ChargeStatus.HELD and charge.capture_requested_at is None:
            charge.capture_requested_at = now
    session.commit()  # the captures are durable before Stripe hears of them
    mine = _capturable_locked(session, [charge.id for charge in claimed])
    for charge in mine:
        if charge.status != ChargeStatus.HELD:
            continue  # taken already (by an earlier run, mended by reconcile, or a webhook)
        intent_id = charge.stripe_payment_intent_id
        assert intent_id is not None  # noqa: S101 - _capturable_locked reads held intents only
        result = gateway.capture(intent_id, f"capture:{charge.idempotency_key}:{charge.attempts}")
        _record_result(session, charge, result)
    session.commit()
    return mine


def _capturable_locked(session: Session, ids: Sequence[int]) -> list[Charge]:
    """Those of the charges held at Stripe or already taken, freshly read and row-locked
    (PostgreSQL) until the next commit, skipping any another transaction has locked."""
    if not ids:
        return []
    query = (
        select(Charge)
        .where(
            Charge.id.in_(ids),
            or_(
                Charge.status.in_(_TAKEN),
                and_(
                    Charge.status == ChargeStatus.HELD.value,
                    Charge.stripe_payment_intent_id.is_not(None),
                ),
            ),
        )
        .order_by(Charge.id)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query.execution_options(populate_existing=True)))


def release_hold(session: Session, charge: Charge, gateway: PaymentGateway | None = None) -> Charge:
    """Cancel a hold (or an intent still waiting for the bank) so nothing is taken, exactly
    once; COMMITS like `charge_once`. Safe to re-run: a released charge is returned unchanged,
    and a claim whose hold reached Stripe unrecorded (a crash) is found there and cancelled.
    A charge already taken is never released (it is returned as it is: refund it instead)."""
    gateway = gateway or get_gateway()
    locked = _locked_charge(session, id=charge.id)
    if locked is None:
        raise DomainError("There is no such payment.")
    charge = locked
    if charge.status in (
        ChargeStatus.RELEASED,
        ChargeStatus.FAILED,  # nothing is held on a refused card
        ChargeStatus.SUCCEEDED,
        ChargeStatus.REFUNDED,
    ):
        return charge
    if charge.status == ChargeStatus.PENDING and not charge.stripe_payment_intent_id:
        # Claimed, but no answer recorded: the call may have reached Stripe before a crash.
        found = _find_remote_intent(gateway, charge)
        if found is None:
            charge.status = ChargeStatus.RELEASED.value  # Stripe never heard of it
            session.commit()
            return charge
        _record_result(session, charge, found)
        if charge.status not in (ChargeStatus.HELD, ChargeStatus.REQUIRES_ACTION):
            session.commit()
            return charge
    intent_id = charge.stripe_payment_intent_id
    if not intent_id:
        raise DomainError("There is nothing at Stripe to release.")
    if charge.release_requested_at is None:
        charge.release_requested_at = utcnow()
    session.commit()  # the release is durable before Stripe hears of it
    charge = _relock(session, id=charge.id)
    _record_result(session, charge, gateway.cancel(intent_id))
    session.commit()
    return charge


def authenticate(
    session: Session, charge: Charge, success: bool, gateway: PaymentGateway | None = None
) -> Charge:
    """The member confirmed (or refused) a payment their bank asked about, on session; the
    intent is then read back and recorded. COMMITS like `charge_once` (its row was committed
    long before). In production Stripe.js does the bank's challenge in the browser and this
    only reads the answer; against localstripe the gateway stands in for the bank."""
    gateway = gateway or get_gateway()
    locked = _locked_charge(session, id=charge.id)
    if locked is None:
        raise DomainError("There is no such payment.")
    charge = locked
    intent_id = charge.stripe_payment_intent_id
    if charge.status != ChargeStatus.REQUIRES_ACTION or not intent_id:
        return charge
    _record_result(session, charge, gateway.authenticate(intent_id, success))
    session.commit()
    return charge


def _mark_succeeded(session: Session, charge: Charge) -> None:
    charge.status = ChargeStatus.SUCCEEDED.value
    charge.failure_message = None
    session.add(
        LedgerEntry(
            kind=LedgerKind.CHARGE.value,
            amount_pence=charge.amount_pence,
            charge=charge,
            user_id=charge.user_id,
            reference=f"{charge.purpose}:{charge.reference}",
            stripe_id=charge.stripe_payment_intent_id,
        )
    )


def refund_charge(
    session: Session,
    charge: Charge,
    amount_pence: int | None = None,
    gateway: PaymentGateway | None = None,
) -> Charge:
    """Refund a succeeded charge (all of it, or `amount_pence`) exactly once; COMMITS like
    `charge_once`. A charge already refunded is returned unchanged."""
    gateway = gateway or get_gateway()
    locked = _locked_charge(session, id=charge.id)
    if locked is None:
        raise DomainError("There is no such payment.")
    charge = locked
    if charge.status == ChargeStatus.REFUNDED:
        return charge
    intent_id = charge.stripe_payment_intent_id
    if charge.status != ChargeStatus.SUCCEEDED or not intent_id:
        raise DomainError("Only a payment that went through can be refunded.")
    amount = charge.amount_pence if amount_pence is None else amount_pence
    if not 0 < amount <= charge.amount_pence:
        raise DomainError("A refund must be more than nothing and no more than was paid.")
    if charge.refund_requested_at is None:
        charge.refund_requested_at = utcnow()
        session.commit()  # the refund request is durable before Stripe hears of it
        charge = _relock(session, id=charge.id)
    # A request left over from a crash is sent again with the same key: real Stripe answers
    # with the refund it already made.
    refund_id = gateway.refund(intent_id, amount, f"refund:{charge.idempotency_key}")
    charge.status = ChargeStatus.REFUNDED.value
    charge.refunded_pence = amount
    charge.stripe_refund_id = refund_id
    session.add(
        LedgerEntry(
            kind=LedgerKind.REFUND.value,
            amount_pence=-amount,
            charge=charge,
            user_id=charge.user_id,
            reference=f"{charge.purpose}:{charge.reference}",
            stripe_id=refund_id,
        )
    )
    session.commit()
    return charge


def record_payout_owed(
    session: Session, provider: int | str, amount_pence: int, reference: str
) -> LedgerEntry:
    """Record money owed to a provider (a negative ledger entry: it will leave us).

    Stripe Connect transfers would pay the provider directly, but localstripe has no Connect
    (no Account, no Transfer), so nothing is sent anywhere: the payout is written down as
    owed, for a person (or a later Connect integration) to pay, and not faked. Does not commit.
    """
    if amount_pence <= 0:
        raise DomainError("A payout must be more than nothing.")
    entry = LedgerEntry(
        kind=LedgerKind.PAYOUT_OWED.value,
        amount_pence=-amount_pence,
        reference=f"provider:{provider}:{reference}"[:200],
    )
    session.add(entry)
    return entry


def record_invoice_paid(
    session: Session, user_id: int, amount_pence: int, purpose: str, number: str
) -> LedgerEntry:
    """Record that an invoice we sent was paid in full (money in, by bank transfer, recorded
    by staff): a positive ledger entry that receipts issues a receipt for. Does not commit."""
    if amount_pence <= 0:
        raise DomainError("A payment must be more than nothing.")
    entry = LedgerEntry(
        kind=LedgerKind.INVOICE_PAYMENT.value,
        amount_pence=amount_pence,
        user_id=user_id,
        reference=f"{purpose}:{number}"[:200],
    )
    session.add(entry)
    return entry


def ledger_balance(session: Session) -> int:
    """The sum of every ledger entry in pence (money in, less refunds and payouts owed)."""
    entries = session.scalars(select(LedgerEntry.amount_pence)).all()
    return sum(entries)


# --- Webhooks -----------------------------------------------------------------------------


def register_handler(event_type: str, fn: WebhookHandler) -> None:
    """Run `fn(session, event)` the first time an event of this type arrives."""
    handlers = _handlers.setdefault(event_type, [])
    if fn not in handlers:
        handlers.append(fn)


def handle_event(session: Session, event: dict[str, Any]) -> bool:
    """Store a verified event by its id and run its handlers, once: False for a duplicate.

    Raises `events.MalformedEvent` for an event whose fields are not what Stripe sends (the
    envelope here, each handler's own fields as it reads them); nothing is then stored.
    Does not commit; the webhook view does, so a handler that fails leaves nothing stored and
    Stripe sends the event again.
    """
    events.check(event)
    event_id, event_type = events.event_id(event), events.event_type(event)
    seen = select(WebhookEvent.id).where(WebhookEvent.stripe_event_id == event_id)
    if session.scalar(seen) is not None:
        return False
    stored = WebhookEvent(stripe_event_id=event_id, type=event_type, payload=json.dumps(event))
    try:
        with session.begin_nested():
            session.add(stored)
    except IntegrityError:
        return False  # the same event, delivered twice at once, stored by the other request
    for handler in _handlers.get(event_type, []):
        handler(session, event)
    stored.processed_at = utcnow()
    return True


def _on_intent_succeeded(session: Session, event: dict[str, Any]) -> None:
    """A charge that was processing, or that the holder approved later, has now gone through."""
    intent = events.data_object(event)
    intent_id = events.required_id(intent)
    key = events.metadata(intent).get(META_KEY)
    if not key:
        return
    charge = _locked_charge(session, idempotency_key=key)
    if charge is None or charge.status in _TAKEN:
        return
    if charge.stripe_payment_intent_id not in (None, intent_id):
        return  # an older attempt's intent; reconciliation reports it
    charge.stripe_payment_intent_id = intent_id
    _mark_succeeded(session, charge)
    record_payment("succeeded")


def _on_intent_failed(session: Session, event: dict[str, Any]) -> None:
    """A charge we thought was still processing has failed."""
    intent = events.data_object(event)
    intent_id = events.required_id(intent)
    key = events.metadata(intent).get(META_KEY)
    message = events.text(events.mapping(intent, "last_payment_error"), "message")
    charge = _locked_charge(session, idempotency_key=key) if key else None
    if charge is None or charge.status != ChargeStatus.PENDING:
        return
    if charge.stripe_payment_intent_id == intent_id:
        charge.status = ChargeStatus.FAILED.value
        charge.failure_message = message or "The payment failed."
        record_payment("failed")


def _on_invoice_paid(session: Session, event: dict[str, Any]) -> None:
    """A subscription payment (a membership fee) went through: one ledger entry per invoice."""
    invoice = events.data_object(event)
    invoice_id = events.required_id(invoice)
    amount = events.pence(invoice, "amount_paid") or events.pence(invoice, "total") or 0
    customer = events.stripe_id(invoice, "customer")
    subscription = events.invoice_subscription(invoice)
    if not amount:
        return
    already = select(LedgerEntry.id).where(LedgerEntry.stripe_id == invoice_id)
    if session.scalar(already) is not None:
        return
    user_id = session.scalar(
        select(PaymentCustomer.user_id).where(PaymentCustomer.stripe_customer_id == customer)
    )
    session.add(
        LedgerEntry(
            kind=LedgerKind.SUBSCRIPTION_PAYMENT.value,
            amount_pence=amount,
            user_id=user_id,
            reference=f"subscription:{subscription or '-'}"[:200],
            stripe_id=invoice_id,
        )
    )


def register() -> None:
    """Record what Stripe tells us about payments (payments' init_app, before the packages
    that build on these events register their own handlers)."""
    register_handler("payment_intent.succeeded", _on_intent_succeeded)
    register_handler("payment_intent.payment_failed", _on_intent_failed)
    register_handler("invoice.payment_succeeded", _on_invoice_paid)
    # Financial records are kept on erasure (the user row stays, anonymised), so no eraser.
    privacy.register_exporter("payments", _export)


# --- Privacy ------------------------------------------------------------------------------


def _export(session: Session, user: User) -> list[dict[str, Any]]:
    charges = session.scalars(select(Charge).where(Charge.user_id == user.id).order_by(Charge.id))
    return [
        {
            "purpose": c.purpose,
            "reference": c.reference,
            "amount_pence": c.amount_pence,
            "refunded_pence": c.refunded_pence,
            "status": c.status,
            "created_at": c.created_at.isoformat(),
        }
        for c in charges
    ]


# --- Saving a card ------------------------------------------------------------------------


@dataclass(frozen=True)
class CardDetails:
    """Card details typed into our own form: only against localstripe (see gateway.py)."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str


def save_card(
    session: Session,
    user: User,
    card: CardDetails,
    metadata: dict[str, str],
    gateway: PaymentGateway | None = None,
) -> SavedCard:
    """Save a card for later off-session charges through a SetupIntent; nothing is charged.

    Raises CardDeclined (with a message to show) when the bank refuses the card. Its Stripe
    calls happen inside the caller's transaction: a page should use `save_card_to_customer`
    with the customer made first (see pools/routes.py `_save_card`).
    """
    gateway = gateway or get_gateway()
    customer_id = customer_for(session, user, gateway)
    return save_card_to_customer(customer_id, card, metadata, gateway)


def save_card_to_customer(
    customer_id: str,
    card: CardDetails,
    metadata: dict[str, str],
    gateway: PaymentGateway | None = None,
) -> SavedCard:
    """Save a card to an existing Stripe customer through a SetupIntent; nothing is charged.

    Only Stripe calls, no database: call it with no transaction open, so that no lock is held
    while Stripe answers. Raises CardDeclined (with a message to show) when the bank refuses.
    """
    gateway = gateway or get_gateway()
    intent = gateway.create_setup_intent(customer_id, metadata)
    return gateway.save_test_card(
        intent.id, customer_id, card.number, card.exp_month, card.exp_year, card.cvc
    )


# --- Renewing a hold ----------------------------------------------------------------------


HOLD_LIFETIME = timedelta(days=7)  # Stripe cancels an uncaptured card hold after this
RENEW_HOLD_AFTER = timedelta(days=6)  # a day to spare for the capture that follows
RENEWING = "The hold on the card ran out and is being placed again"


def hold_is_stale(charge: Charge, held_at: datetime | None, now: datetime) -> bool:
    """A hold Stripe has dropped, or soon will, having been placed at `held_at` (the caller
    keeps that, on its own clock): renew it before counting on it."""
    if charge.status == ChargeStatus.FAILED and charge.failure_message == RENEWING:
        return True  # a renewal stopped half way (the old hold is gone): finish it
    held = held_at or charge.created_at
    return charge.status == ChargeStatus.HELD and as_utc(held) <= now - RENEW_HOLD_AFTER


def renew_hold(
    session: Session,
    charge: Charge,
    *,
    user: User,
    payment_method_id: str,
    metadata: dict[str, str] | None = None,
    gateway: PaymentGateway | None = None,
) -> Charge:
    """Place a stale hold again under the same key (a new attempt), so the capture that follows
    finds one; COMMITS like `hold_once`. Nothing is taken. The old intent is cancelled first
    (Stripe may have cancelled it already), and that is committed before the new hold is
    asked for, so a crash between the two is finished by the next call (`hold_is_stale`)."""
    gateway = gateway or get_gateway()
    locked = _locked_charge(session, id=charge.id)
    if locked is None:
        raise DomainError("There is no such payment.")
    if locked.status == ChargeStatus.HELD and locked.stripe_payment_intent_id:
        answer = gateway.cancel(locked.stripe_payment_intent_id)
        if answer.status == "succeeded":  # it was taken after all: that is the payment
            _record_result(session, locked, answer)
            session.commit()
            return locked
        locked.status = ChargeStatus.FAILED.value  # the next attempt is a new hold
        locked.failure_message = RENEWING
        locked.capture_requested_at = None
        session.commit()
    elif not (locked.status == ChargeStatus.FAILED and locked.failure_message == RENEWING):
        return locked  # not a hold to renew (taken, released, or never held)
    return hold_once(
        session,
        user=user,
        idempotency_key=locked.idempotency_key,
        amount_pence=locked.amount_pence,
        payment_method_id=payment_method_id,
        purpose=locked.purpose,
        reference=locked.reference,
        metadata=metadata,
        gateway=gateway,
    )
