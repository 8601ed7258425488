"""The Stripe gateway: the one place in the project that imports `stripe`.

`StripeGateway` wraps the official SDK behind a few methods that take and return plain values
(int pence, "gbp", small frozen dataclasses), so the rest of the project never sees a Stripe
object. It reads `STRIPE_API_KEY`, `STRIPE_API_BASE` and `STRIPE_WEBHOOK_SECRET` from
`current_app.config` on every call, so a test (or a reconfigured app) can point it elsewhere.

`PaymentGateway` is the interface; `get_gateway()` returns the app's one, so another feature's
tests may put a stand-in in `app.extensions["payment_gateway"]`. The tests of this package use
the real SDK against a real localstripe.

localstripe (development and tests) differs from Stripe in ways this module absorbs: it ignores
`Idempotency-Key` (exactly-once comes from our database, see `services.charge_once`), has no
Price (we use Plan), lists oldest first, returns `latest_charge` as an object, and reports an
off-session card that needs authentication as a `requires_action` intent rather than a
`CardError` with code `authentication_required` (real Stripe). Both forms are handled.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import requests
import requests.adapters
import stripe
from flask import Flask, current_app
from stripe.params import InvoiceListParams, PaymentIntentListParams, RefundListParams
from stripe.params._subscription_update_params import SubscriptionUpdateParamsPauseCollection

from marketplace.config import is_loopback_url

CURRENCY = "gbp"
EXTENSION_KEY = "payment_gateway"
# Charges that need the holder present: Stripe's code for an off-session decline of this kind.
_AUTHENTICATION_CODES = {"authentication_required"}


class PaymentError(Exception):
    """Something went wrong talking to the payment provider; `message` is plain English."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CardDeclined(PaymentError):
    """The card was declined; `message` can be shown to the card holder."""


class RawCardsRefused(PaymentError):
    """Raw card numbers were sent while `STRIPE_ACCEPT_RAW_CARDS` is off (production)."""


class InvalidWebhook(PaymentError):
    """A webhook's payload or signature did not verify."""


@dataclass(frozen=True)
class SetupIntentResult:
    """A SetupIntent ready for a card: its id, status and the client secret for Stripe.js."""

    id: str
    status: str
    client_secret: str | None


@dataclass(frozen=True)
class SavedCard:
    """A card saved for later off-session charges (never the number: brand and last four)."""

    payment_method_id: str
    brand: str
    last4: str
    # "succeeded", or "requires_action" when the bank wants the holder to authenticate on
    # session (Stripe.js); later off-session charges on such a card may need them present too.
    setup_status: str = "succeeded"


@dataclass(frozen=True)
class ChargeResult:
    """The outcome of an off-session charge or hold: succeeded | held (authorised, waiting
    for capture) | requires_action | processing | canceled | failed."""

    status: str
    payment_intent_id: str | None
    message: str | None = None
    charge_id: str | None = None


@dataclass(frozen=True)
class SubscriptionResult:
    """A subscription's id, Stripe status and the end of the period already paid for."""

    id: str
    status: str
    current_period_end: datetime | None
    cancel_at_period_end: bool = False
    # Stripe takes nothing while set (pause_collection): a member's break.
    collection_paused: bool = False


@dataclass(frozen=True)
class RemotePayment:
    """A PaymentIntent as Stripe holds it, for reconciliation."""

    id: str
    amount_pence: int
    status: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RemoteRefund:
    """A refund as Stripe holds it, for reconciliation (`status`: Stripe's, e.g. succeeded)."""

    id: str
    payment_intent_id: str | None
    amount_pence: int
    status: str


@dataclass(frozen=True)
class RemoteInvoice:
    """An invoice as Stripe holds it, for reconciliation: what was paid, by which customer."""

    id: str
    customer_id: str | None
    subscription_id: str | None
    amount_paid_pence: int
    status: str
    created: datetime | None


class PaymentGateway(Protocol):
    """What the rest of the project may ask of a payment provider."""

    def create_customer(self, email: str, name: str, metadata: dict[str, str]) -> str: ...

    def create_setup_intent(
        self, customer_id: str, metadata: dict[str, str]
    ) -> SetupIntentResult: ...

    def save_test_card(
        self,
        setup_intent_id: str,
        customer_id: str,
        number: str,
        exp_month: int,
        exp_year: int,
        cvc: str,
    ) -> SavedCard: ...

    def charge_off_session(
        self,
        customer_id: str,
        payment_method_id: str,
        amount_pence: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> ChargeResult: ...

    def hold_off_session(
        self,
        customer_id: str,
        payment_method_id: str,
        amount_pence: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> ChargeResult: ...

    def capture(self, payment_intent_id: str, idempotency_key: str) -> ChargeResult: ...

    def cancel(self, payment_intent_id: str) -> ChargeResult: ...

    def authenticate(self, payment_intent_id: str, success: bool) -> ChargeResult: ...

    def intent_result(self, payment_intent_id: str) -> ChargeResult | None: ...

    def refund(self, payment_intent_id: str, amount_pence: int, idempotency_key: str) -> str: ...

    def create_plan(self, product_name: str, amount_pence: int, interval: str = "month") -> str: ...

    def create_subscription(
        self, customer_id: str, plan_id: str, metadata: dict[str, str], idempotency_key: str
    ) -> SubscriptionResult: ...

    def cancel_subscription(
        self, subscription_id: str, at_period_end: bool
    ) -> SubscriptionResult: ...

    def pause_collection(
        self, subscription_id: str, resumes_at: datetime | None
    ) -> SubscriptionResult: ...

    def resume_collection(self, subscription_id: str) -> SubscriptionResult: ...

    def recent_payment_intents(self, limit: int = 100) -> list[RemotePayment]: ...

    def get_payment_intent(self, payment_intent_id: str) -> RemotePayment | None: ...

    def construct_event(self, payload: bytes, signature_header: str) -> dict[str, Any]: ...

    def recent_refunds(self, limit: int = 100) -> list[RemoteRefund]: ...

    def refunds_for(self, payment_intent_id: str) -> list[RemoteRefund]: ...

    def paid_invoices(self, limit: int = 100) -> list[RemoteInvoice]: ...

    def get_invoice(self, invoice_id: str) -> RemoteInvoice | None: ...


def _to_dict(obj: Any) -> dict[str, Any]:
    """A Stripe object as a plain dict (stripe 16 objects are not dicts)."""
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    result: dict[str, Any] = obj.to_dict()
    return result


def _intent_path(payment_intent_id: str) -> str:
    return f"/v1/payment_intents/{urllib.parse.quote(payment_intent_id, safe='')}"


def _loopback_http_client() -> stripe.HTTPClient:
    """The SDK's own requests client, for a loopback localstripe: one keep-alive session
    shared by every thread (the SDK otherwise opens one per thread), which skips reading proxy
    settings from the environment on each request: loopback never goes through a proxy."""
    session = requests.Session()
    session.trust_env = False
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=64)
    session.mount("http://", adapter)
    return stripe.RequestsClient(session=session)


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


class StripeGateway:
    """PaymentGateway over the official Stripe SDK, configured from `current_app.config`."""

    def __init__(self) -> None:
        # One client per (key, endpoint): each keeps a pooled HTTP session, and a fresh one per
        # call would leak sockets. Keyed by config so a changed STRIPE_API_BASE takes effect.
        self._clients: dict[tuple[str, str], stripe.StripeClient] = {}

    # --- configuration ------------------------------------------------------------------

    def _client(self) -> stripe.StripeClient:
        config = current_app.config
        api_key, api_base = config["STRIPE_API_KEY"], config["STRIPE_API_BASE"]
        client = self._clients.get((api_key, api_base))
        if client is None:
            loopback = is_loopback_url(api_base)
            client = stripe.StripeClient(
                api_key,
                base_addresses={"api": api_base},
                # localstripe ignores Idempotency-Key, so an automatic retry of a slow POST
                # could charge twice there; real Stripe deduplicates retries by the key.
                max_network_retries=0 if loopback else 2,
                http_client=_loopback_http_client() if loopback else None,
            )
            self._clients[(api_key, api_base)] = client
        return client

    def _intent_call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """A PaymentIntent request through the SDK's `raw_request`, answered as a plain dict.

        The SDK's typed services turn every answer into a tree of StripeObjects, which we then
        turn straight back into a dict: for an intent with its charge that is some ninety
        objects, half the client's time per payment. `raw_request` sends the same request
        (same encoding, headers, key and errors raised) and we read the JSON as it came."""
        options: dict[str, Any] = {}
        if idempotency_key is not None:
            options["idempotency_key"] = idempotency_key
        response = self._client().raw_request(method, path, **(params or {}), **options)
        data: dict[str, Any] = response.data
        return data

    # --- customers and cards ------------------------------------------------------------

    def create_customer(self, email: str, name: str, metadata: dict[str, str]) -> str:
        """Create a Stripe customer; returns its id."""
        customer = self._client().v1.customers.create(
            params={"email": email, "name": name, "metadata": metadata}
        )
        return str(customer.id)

    def create_setup_intent(self, customer_id: str, metadata: dict[str, str]) -> SetupIntentResult:
        """Start saving a card for off-session use (no payment method yet: Stripe.js adds it)."""
        intent = self._client().v1.setup_intents.create(
            params={"customer": customer_id, "usage": "off_session", "metadata": metadata}
        )
        return SetupIntentResult(
            id=str(intent.id), status=str(intent.status), client_secret=intent.client_secret
        )

    def save_test_card(
        self,
        setup_intent_id: str,
        customer_id: str,
        number: str,
        exp_month: int,
        exp_year: int,
        cvc: str,
    ) -> SavedCard:
        """Save a test card on a SetupIntent and make it the customer's default.

        TEST MODE ONLY. Raw card numbers may only ever be sent to localstripe or to Stripe in
        test mode: a server that handles real card numbers falls under the full PCI DSS. In
        production the browser confirms the SetupIntent with Stripe.js Elements (using the
        client secret from `create_setup_intent`) and we only ever see the payment method id.
        So this refuses unless `STRIPE_ACCEPT_RAW_CARDS` is on, which by default it is only
        when `STRIPE_API_BASE` is on loopback.

        Steps: create a PaymentMethod, attach it to the customer (localstripe declines
        4000000000000002 here), confirm the SetupIntent with it, set it as the customer's
        `invoice_settings.default_payment_method` (what subscriptions charge). Raises
        `CardDeclined` with a plain-English message when the card is declined.
        """
        config = current_app.config
        # A live key never takes raw numbers, whatever the flag says.
        if not config.get("STRIPE_ACCEPT_RAW_CARDS") or config["STRIPE_API_KEY"].startswith(
            ("sk_live_", "rk_live_")
        ):
            raise RawCardsRefused("Card numbers can only be entered through the secure card form.")
        client = self._client()
        try:
            method = client.v1.payment_methods.create(
                params={
                    "type": "card",
                    "card": {
                        "number": number,
                        "exp_month": exp_month,
                        "exp_year": exp_year,
                        "cvc": cvc,
                    },
                }
            )
            client.v1.payment_methods.attach(method.id, params={"customer": customer_id})
            intent = client.v1.setup_intents.confirm(
                setup_intent_id, params={"payment_method": method.id}
            )
            client.v1.customers.update(
                customer_id, params={"invoice_settings": {"default_payment_method": method.id}}
            )
        except stripe.CardError as error:
            raise CardDeclined(_decline_message(error)) from error
        except stripe.InvalidRequestError as error:
            raise CardDeclined(
                "Those card details were not accepted. Check the number, expiry date and "
                "security code."
            ) from error
        card = _to_dict(method).get("card") or {}
        return SavedCard(
            payment_method_id=str(method.id),
            brand=str(card.get("brand", "card")),
            last4=str(card.get("last4", "")),
            setup_status=str(intent.status),
        )

    # --- money movements ----------------------------------------------------------------

    def charge_off_session(
        self,
        customer_id: str,
        payment_method_id: str,
        amount_pence: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        """Charge a saved card with the holder absent; card problems are results, not errors."""
        return self._off_session(
            customer_id, payment_method_id, amount_pence, idempotency_key, metadata, "automatic"
        )

    def hold_off_session(
        self,
        customer_id: str,
        payment_method_id: str,
        amount_pence: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        """Authorise a saved card with the holder absent, taking nothing yet
        (capture_method=manual): the intent waits in `requires_capture` ("held") until
        `capture` takes the money or `cancel` lets it go. Real Stripe lets a card hold last
        7 days, then cancels it by itself; callers capture well inside that."""
        return self._off_session(
            customer_id, payment_method_id, amount_pence, idempotency_key, metadata, "manual"
        )

    def _off_session(
        self,
        customer_id: str,
        payment_method_id: str,
        amount_pence: int,
        idempotency_key: str,
        metadata: dict[str, str],
        capture_method: str,
    ) -> ChargeResult:
        if amount_pence <= 0:
            raise ValueError("amount_pence must be positive")
        try:
            intent = self._intent_call(
                "post",
                "/v1/payment_intents",
                {
                    "amount": amount_pence,
                    "currency": CURRENCY,
                    "customer": customer_id,
                    "payment_method": payment_method_id,
                    "off_session": True,
                    "confirm": True,
                    "capture_method": "manual" if capture_method == "manual" else "automatic",
                    "metadata": metadata,
                },
                idempotency_key,
            )
        except stripe.CardError as error:
            body = error.error
            intent_id = body.payment_intent.id if body and body.payment_intent else None
            status = "requires_action" if error.code in _AUTHENTICATION_CODES else "failed"
            return ChargeResult(status, intent_id, _decline_message(error))
        except stripe.StripeError as error:
            # Not a card problem (network, outage, bad request): whether Stripe took the money
            # is unknown, so the caller must not record a failure; see services.charge_once.
            raise PaymentError("The payment provider could not be reached.") from error
        return _charge_result(intent)

    def capture(self, payment_intent_id: str, idempotency_key: str) -> ChargeResult:
        """Take the money of a held (requires_capture) intent. An intent already captured, or
        no longer capturable, is answered with its state as Stripe has it, not an error: a
        capture re-run after a crash finds it `succeeded`."""
        try:
            intent = self._intent_call(
                "post", f"{_intent_path(payment_intent_id)}/capture", {}, idempotency_key
            )
        except stripe.InvalidRequestError:
            found = self.intent_result(payment_intent_id)
            if found is None:
                raise PaymentError("The payment provider has no such payment.") from None
            return found
        except stripe.StripeError as error:
            raise PaymentError("The payment provider could not be reached.") from error
        return _charge_result(intent)

    def cancel(self, payment_intent_id: str) -> ChargeResult:
        """Cancel an intent that has taken nothing (held, or waiting for the bank): the hold on
        the card goes. One already cancelled (or taken) is answered with its state."""
        try:
            intent = self._intent_call("post", f"{_intent_path(payment_intent_id)}/cancel")
        except stripe.InvalidRequestError:
            found = self.intent_result(payment_intent_id)
            if found is None:
                raise PaymentError("The payment provider has no such payment.") from None
            return found
        except stripe.StripeError as error:
            raise PaymentError("The payment provider could not be reached.") from error
        return _charge_result(intent)

    def authenticate(self, payment_intent_id: str, success: bool) -> ChargeResult:
        """The bank's confirmation of a `requires_action` intent, then the intent re-read.

        In production the member's browser does this with Stripe.js (`handleNextAction` with
        the client secret) and we only re-read the intent. localstripe stands in for the bank
        with `POST /v1/payment_intents/<id>/_authenticate` (client_secret, success), which only
        it has: so this refuses anything but a loopback Stripe."""
        config = current_app.config
        if not is_loopback_url(config["STRIPE_API_BASE"]):
            raise PaymentError("Confirm this payment with your bank through the secure form.")
        client = self._client()
        try:
            intent = client.v1.payment_intents.retrieve(payment_intent_id)
            client.raw_request(
                "post",
                f"/v1/payment_intents/{payment_intent_id}/_authenticate",
                client_secret=intent.client_secret,
                success="true" if success else "false",
            )
        except stripe.StripeError as error:
            found = self.intent_result(payment_intent_id)
            if found is not None and found.status != "requires_action":
                return found  # confirmed (or cancelled) already: its state as it is
            raise PaymentError("The payment provider could not be reached.") from error
        found = self.intent_result(payment_intent_id)
        if found is None:
            raise PaymentError("The payment provider has no such payment.")
        return found

    def intent_result(self, payment_intent_id: str) -> ChargeResult | None:
        """A PaymentIntent's state as a ChargeResult (None if Stripe has no such intent)."""
        try:
            intent = self._intent_call("get", _intent_path(payment_intent_id))
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise PaymentError("The payment provider could not be reached.") from error
        except stripe.StripeError as error:
            raise PaymentError("The payment provider could not be reached.") from error
        return _charge_result(intent)

    def refund(self, payment_intent_id: str, amount_pence: int, idempotency_key: str) -> str:
        """Refund part or all of a succeeded PaymentIntent; returns the refund id."""
        if amount_pence <= 0:
            raise ValueError("amount_pence must be positive")
        try:
            refund = self._client().v1.refunds.create(
                params={"payment_intent": payment_intent_id, "amount": amount_pence},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise PaymentError(
                f"The refund was not made: {error.user_message or 'the payment provider said no'}"
            ) from error
        return str(refund.id)

    # --- subscriptions ------------------------------------------------------------------

    def create_plan(self, product_name: str, amount_pence: int, interval: str = "month") -> str:
        """Create a Product and a recurring Plan for it (localstripe has no Price); returns the
        plan id."""
        client = self._client()
        try:
            product = client.v1.products.create(params={"name": product_name})
            plan = client.v1.plans.create(
                params={
                    "product": product.id,
                    "amount": amount_pence,
                    "currency": CURRENCY,
                    "interval": interval,
                }
            )
        except stripe.StripeError as error:
            raise PaymentError("The payment provider could not be reached.") from error
        return str(plan.id)

    def create_subscription(
        self, customer_id: str, plan_id: str, metadata: dict[str, str], idempotency_key: str
    ) -> SubscriptionResult:
        """Subscribe a customer (charged on their default payment method) to a plan."""
        try:
            subscription = self._client().v1.subscriptions.create(
                params={
                    "customer": customer_id,
                    "items": [{"plan": plan_id}],
                    "metadata": metadata,
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as error:
            raise CardDeclined(_decline_message(error)) from error
        return _subscription_result(_to_dict(subscription))

    def cancel_subscription(self, subscription_id: str, at_period_end: bool) -> SubscriptionResult:
        """Cancel now, or at the end of the period already paid for."""
        client = self._client()
        if at_period_end:
            subscription = client.v1.subscriptions.update(
                subscription_id, params={"cancel_at_period_end": True}
            )
        else:
            subscription = client.v1.subscriptions.cancel(subscription_id)
        return _subscription_result(_to_dict(subscription))

    def pause_collection(
        self, subscription_id: str, resumes_at: datetime | None
    ) -> SubscriptionResult:
        """Take nothing until resumed (or `resumes_at`): invoices in between are voided, so
        the member never owes them. Setting it twice is harmless."""
        pause: SubscriptionUpdateParamsPauseCollection = {"behavior": "void"}
        if resumes_at is not None:
            pause["resumes_at"] = int(resumes_at.timestamp())
        try:
            subscription = self._client().v1.subscriptions.update(
                subscription_id, params={"pause_collection": pause}
            )
        except stripe.StripeError as error:
            raise PaymentError("The payment provider could not be reached.") from error
        return _subscription_result(_to_dict(subscription))

    def resume_collection(self, subscription_id: str) -> SubscriptionResult:
        """Take the fee again from the next period (an empty value unsets the pause)."""
        try:
            subscription = self._client().v1.subscriptions.update(
                subscription_id, params={"pause_collection": ""}
            )
        except stripe.StripeError as error:
            raise PaymentError("The payment provider could not be reached.") from error
        return _subscription_result(_to_dict(subscription))

    # --- reading back -------------------------------------------------------------------

    def recent_payment_intents(self, limit: int = 100) -> list[RemotePayment]:
        """Up to `limit` PaymentIntents, paging as needed (no customer filter: localstripe
        has none). Stripe lists newest first; localstripe lists oldest first."""
        client = self._client()
        found: list[RemotePayment] = []
        starting_after: str | None = None
        while len(found) < limit:
            params: PaymentIntentListParams = {"limit": min(100, limit - len(found))}
            if starting_after:
                params["starting_after"] = starting_after
            page = client.v1.payment_intents.list(params=params)
            found.extend(_remote_payment(_to_dict(item)) for item in page.data)
            if not page.has_more or not page.data:
                break
            starting_after = str(page.data[-1].id)
        return found

    def get_payment_intent(self, payment_intent_id: str) -> RemotePayment | None:
        """One PaymentIntent, or None if Stripe has no such intent."""
        try:
            intent = self._client().v1.payment_intents.retrieve(payment_intent_id)
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise
        return _remote_payment(_to_dict(intent))

    # --- webhooks -----------------------------------------------------------------------

    def construct_event(self, payload: bytes, signature_header: str) -> dict[str, Any]:
        """Verify a webhook with STRIPE_WEBHOOK_SECRET; returns the event as a dict."""
        secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature_header, secret, stripe.Webhook.DEFAULT_TOLERANCE
            )
            event = json.loads(payload)
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as error:
            raise InvalidWebhook("The webhook's signature or payload is not valid.") from error
        if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
            raise InvalidWebhook("The webhook's payload is not a Stripe event.")
        return event

    # --- reading back for reconciliation (refunds, invoices) -----------------------------

    def recent_refunds(self, limit: int = 100) -> list[RemoteRefund]:
        """Up to `limit` refunds, paging as needed (newest first, at Stripe and localstripe)."""
        client = self._client()
        found: list[RemoteRefund] = []
        starting_after: str | None = None
        while len(found) < limit:
            params: RefundListParams = {"limit": min(100, limit - len(found))}
            if starting_after:
                params["starting_after"] = starting_after
            page = client.v1.refunds.list(params=params)
            found.extend(_remote_refund(_to_dict(item)) for item in page.data)
            if not page.has_more or not page.data:
                break
            starting_after = str(page.data[-1].id)
        return found

    def refunds_for(self, payment_intent_id: str) -> list[RemoteRefund]:
        """Every refund of one PaymentIntent (none if Stripe has no such intent)."""
        try:
            page = self._client().v1.refunds.list(
                params={"payment_intent": payment_intent_id, "limit": 100}
            )
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return []
            raise
        return [_remote_refund(_to_dict(item)) for item in page.data]

    def paid_invoices(self, limit: int = 100) -> list[RemoteInvoice]:
        """The paid invoices among the `limit` most recent, paging as needed.

        Filtered here rather than with Stripe's `status=paid`, which localstripe refuses."""
        client = self._client()
        found: list[RemoteInvoice] = []
        starting_after: str | None = None
        listed = 0
        while listed < limit:
            params: InvoiceListParams = {"limit": min(100, limit - listed)}
            if starting_after:
                params["starting_after"] = starting_after
            page = client.v1.invoices.list(params=params)
            listed += len(page.data)
            found.extend(
                invoice
                for invoice in (_remote_invoice(_to_dict(item)) for item in page.data)
                if invoice.status == "paid"
            )
            if not page.has_more or not page.data:
                break
            starting_after = str(page.data[-1].id)
        return found

    def get_invoice(self, invoice_id: str) -> RemoteInvoice | None:
        """One invoice, or None if Stripe has no such invoice."""
        try:
            invoice = self._client().v1.invoices.retrieve(invoice_id)
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise
        return _remote_invoice(_to_dict(invoice))


def _decline_message(error: stripe.StripeError) -> str:
    """A message a card holder can act on, whatever the provider's wording."""
    code = getattr(error, "code", None)
    if code in _AUTHENTICATION_CODES:
        return "Your bank needs you to confirm this payment. Sign in to approve it."
    if code == "expired_card":
        return "Your card has expired. Please add a different card."
    if code == "insufficient_funds":
        return "Your card was declined because there was not enough money in the account."
    return "Your card was declined. Please try a different card or contact your bank."


def _charge_result(intent: dict[str, Any]) -> ChargeResult:
    status = intent.get("status")
    latest = intent.get("latest_charge")
    # Real Stripe sends the charge id; localstripe sends the whole charge object.
    charge_id = latest.get("id") if isinstance(latest, dict) else latest
    if status == "succeeded":
        return ChargeResult("succeeded", intent["id"], None, charge_id)
    if status == "requires_capture":
        return ChargeResult("held", intent["id"], None, charge_id)  # authorised, nothing taken
    if status == "canceled":
        return ChargeResult("canceled", intent["id"], None, charge_id)
    if status == "requires_action":
        return ChargeResult(
            "requires_action",
            intent["id"],
            "Your bank needs you to confirm this payment. Sign in to approve it.",
            charge_id,
        )
    if status == "processing":
        # Accepted but not yet settled (bank debits); a webhook will settle it.
        return ChargeResult("processing", intent["id"], None, charge_id)
    error = intent.get("last_payment_error") or {}
    return ChargeResult(
        "failed",
        intent["id"],
        error.get("message") or "Your card was declined. Please try a different card.",
        charge_id,
    )


def _subscription_result(subscription: dict[str, Any]) -> SubscriptionResult:
    period_end = subscription.get("current_period_end")
    if period_end is None:
        # Since API version 2025-03-31 the period lives on each subscription item.
        items = (subscription.get("items") or {}).get("data") or []
        period_end = items[0].get("current_period_end") if items else None
    return SubscriptionResult(
        id=subscription["id"],
        status=subscription["status"],
        current_period_end=_timestamp(period_end),
        cancel_at_period_end=bool(subscription.get("cancel_at_period_end")),
        collection_paused=bool(subscription.get("pause_collection")),
    )


def _remote_payment(intent: dict[str, Any]) -> RemotePayment:
    return RemotePayment(
        id=intent["id"],
        amount_pence=int(intent["amount"]),
        status=str(intent["status"]),
        metadata={str(k): str(v) for k, v in (intent.get("metadata") or {}).items()},
    )


def _remote_refund(refund: dict[str, Any]) -> RemoteRefund:
    intent = refund.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    return RemoteRefund(
        id=str(refund["id"]),
        payment_intent_id=str(intent) if intent else None,
        amount_pence=int(refund["amount"]),
        status=str(refund.get("status")),
    )


def _id_of(value: Any) -> str | None:
    """An id that Stripe may send as the id or as the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def _remote_invoice(invoice: dict[str, Any]) -> RemoteInvoice:
    subscription = invoice.get("subscription")
    if not subscription:
        # Since API version 2025-03-31 the subscription is under `parent`.
        subscription = ((invoice.get("parent") or {}).get("subscription_details") or {}).get(
            "subscription"
        )
    return RemoteInvoice(
        id=str(invoice["id"]),
        customer_id=_id_of(invoice.get("customer")),
        subscription_id=_id_of(subscription),
        amount_paid_pence=int(invoice.get("amount_paid") or 0),
        status=str(invoice.get("status")),
        created=_timestamp(invoice.get("created")),
    )


def init_app(app: Flask) -> None:
    """Give the app its gateway (unless a test put a stand-in there first)."""
    app.extensions.setdefault(EXTENSION_KEY, StripeGateway())


def get_gateway() -> PaymentGateway:
    """The current app's payment gateway."""
    gateway: PaymentGateway = current_app.extensions[EXTENSION_KEY]
    return gateway
