"""The Stripe webhook endpoint: verified, stored by event id, processed once."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from marketplace.extensions import csrf, db
from marketplace.payments import events, services
from marketplace.payments.gateway import InvalidWebhook, get_gateway

bp = Blueprint("payments", __name__, url_prefix="/payments")
log = logging.getLogger(__name__)


@bp.post("/webhook")
@csrf.exempt  # Stripe cannot send our CSRF token; the signature authenticates it instead
def stripe_webhook() -> tuple[Response, int]:
    """Verify Stripe's signature, then store and process the event (once).

    A signed event with malformed fields is answered 400 with the reason, and nothing of it
    is kept: a 500 would only have Stripe send the same bad event again for days."""
    payload = request.get_data(cache=False)
    signature = request.headers.get("Stripe-Signature", "")
    try:
        event = get_gateway().construct_event(payload, signature)
    except InvalidWebhook as error:
        log.warning("Refused a webhook: %s", error.message)
        return jsonify(error=error.message), 400
    try:
        processed = services.handle_event(db.session, event)
    except events.MalformedEvent as error:
        db.session.rollback()
        log.warning("Refused Stripe event %s: %s", events.describe(event), error.reason)
        return jsonify(error=f"The event is malformed: {error.reason}."), 400
    db.session.commit()
    return jsonify(received=True, duplicate=not processed), 200
