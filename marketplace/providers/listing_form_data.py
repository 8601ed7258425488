"""Turning the listing form into ListingData and back (parsing only, no rules)."""

from __future__ import annotations

from marketplace.money import parse_pounds
from marketplace.providers.forms import PRICE_ROWS, ListingForm
from marketplace.providers.models import PriceUnit
from marketplace.providers.services import ListingData, PriceOption


def prices_from_form(form: ListingForm) -> tuple[PriceOption, ...] | None:
    """The price rows filled in; None (with the error put on the row) if a row is half-filled."""
    prices: list[PriceOption] = []
    for row in range(1, PRICE_ROWS + 1):
        amount = getattr(form, f"price{row}_amount")
        unit = getattr(form, f"price{row}_unit")
        label = getattr(form, f"price{row}_label")
        if not (amount.data or "").strip() and not unit.data:
            continue
        if unit.data == PriceUnit.FREE.value:
            prices.append(PriceOption(0, unit.data, label.data or ""))
            continue
        if not unit.data:
            unit.errors = [*unit.errors, "Choose what the price is for"]
            return None
        if not (amount.data or "").strip():
            amount.errors = [*amount.errors, "Enter the price in pounds, or choose free"]
            return None
        prices.append(PriceOption(parse_pounds(amount.data), unit.data, label.data or ""))
    if not prices:
        form.price1_amount.errors = [  # type: ignore[attr-defined]  # added in forms.py
            "Give at least one price, or choose free"
        ]
        return None
    return tuple(prices)


def listing_data(form: ListingForm, prices: tuple[PriceOption, ...]) -> ListingData:
    """ListingData from a validated form."""
    return ListingData(
        name=form.name.data or "",
        summary=form.summary.data or "",
        description=form.description.data or "",
        category_ids=tuple(form.category_ids.data or ()),
        tags=tuple(t.strip() for t in (form.tags.data or "").split(",") if t.strip()),
        delivery_modes=tuple(form.delivery_modes.data or ()),
        prices=prices,
        council_ids=tuple(form.council_ids.data or ()),
        serves_nationally=bool(form.serves_nationally.data),
        postcode=(form.postcode.data or "").strip() or None,
        radius_miles=form.radius_miles.data,
        languages=tuple(form.languages.data or ()),
        communities=tuple(form.communities.data or ()),
        accessibility=form.accessibility.data or "",
        takes_direct_payments=bool(form.takes_direct_payments.data),
        takes_managed_accounts=bool(form.takes_managed_accounts.data),
        specialism=form.specialism.data or "",
        contact_email=form.contact_email.data or None,
        contact_phone=form.contact_phone.data or None,
        website=form.website.data or None,
        times=form.times.data or "",
    )


def form_values(data: ListingData) -> dict[str, object]:
    """Keyword arguments that prefill a ListingForm from ListingData."""
    values: dict[str, object] = {
        "name": data.name,
        "summary": data.summary,
        "description": data.description,
        "category_ids": list(data.category_ids),
        "tags": ", ".join(data.tags),
        "delivery_modes": list(data.delivery_modes),
        "council_ids": list(data.council_ids),
        "serves_nationally": data.serves_nationally,
        "postcode": data.postcode or "",
        "radius_miles": data.radius_miles,
        "languages": list(data.languages),
        "communities": list(data.communities),
        "accessibility": data.accessibility,
        "takes_direct_payments": data.takes_direct_payments,
        "takes_managed_accounts": data.takes_managed_accounts,
        "specialism": data.specialism,
        "contact_email": data.contact_email or "",
        "contact_phone": data.contact_phone or "",
        "website": data.website or "",
        "times": data.times,
    }
    for row, price in enumerate(data.prices[:PRICE_ROWS], start=1):
        pounds, pence = divmod(price.amount_pence, 100)
        values[f"price{row}_amount"] = "" if price.unit == "free" else f"{pounds}.{pence:02d}"
        values[f"price{row}_unit"] = price.unit
        values[f"price{row}_label"] = price.label
    return values
