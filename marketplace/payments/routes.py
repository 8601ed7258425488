"""The Stripe webhook endpoint: verified, stored by event id, processed once."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from marketplace.extensions import csrf, db
from marketplace.payments import services
from marketplace.payments.gateway import InvalidWebhook, get_gateway

bp = Blueprint("payments", __name__, url_prefix="/payments")


@bp.post("/webhook")
@csrf.exempt  # Stripe cannot send our CSRF token; the signature authenticates it instead
def stripe_webhook() -> tuple[Response, int]:
    """Verify Stripe's signature, then store and process the event (once)."""
    payload = request.get_data(cache=False)
    signature = request.headers.get("Stripe-Signature", "")
    try:
        event = get_gateway().construct_event(payload, signature)
    except InvalidWebhook as error:
        return jsonify(error=error.message), 400
    processed = services.handle_event(db.session, event)
    db.session.commit()
    return jsonify(received=True, duplicate=not processed), 200
