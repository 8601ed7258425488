"""Turning the listing form into ListingData and back (parsing only, no rules)."""

from __future__ import annotations

from wtforms import Field

from marketplace.money import parse_pounds
from marketplace.providers.forms import PRICE_ROWS, ListingForm
from marketplace.providers.models import WEEKDAYS, PriceUnit
from marketplace.providers.services import (
    ListingData,
    OpeningTime,
    PriceOption,
    opening_problems,
)


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


def _day_field(form: ListingForm, day: int, part: str) -> Field:
    field: Field = getattr(form, f"day{day}_{part}")
    return field


def opening_times_from_form(form: ListingForm) -> tuple[OpeningTime, ...] | None:
    """The days filled in; None (with each problem put beside its day's box) if any is wrong.
    The rules are the service's (opening_problems): only where each message goes is here."""
    times: list[OpeningTime] = []
    ok = True
    for day, name in enumerate(WEEKDAYS):
        fields = {part: _day_field(form, day, part) for part in ("opens", "closes", "note")}
        opening = OpeningTime(
            day, *((fields[part].data or "").strip() for part in ("opens", "closes", "note"))
        )
        if not opening.opens and not opening.closes:
            if opening.note:
                fields["opens"].errors = [
                    *fields["opens"].errors,
                    f"Enter when it opens and closes on {name}",
                ]
                ok = False
            continue
        problems = opening_problems(opening)
        for part, message in problems:
            fields[part].errors = [*fields[part].errors, message]
        ok = ok and not problems
        times.append(opening)
    return tuple(times) if ok else None


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def data_from_form(form: ListingForm) -> ListingData | None:
    """ListingData from a form whose own validators passed; None (errors on the fields) if a
    price row or a day's opening times are wrong. Both rows are checked, so every problem shows
    at once."""
    prices = prices_from_form(form)
    opening_times = opening_times_from_form(form)
    if prices is None or opening_times is None:
        return None
    return listing_data(form, prices, opening_times)


def listing_data(
    form: ListingForm,
    prices: tuple[PriceOption, ...],
    opening_times: tuple[OpeningTime, ...] = (),
) -> ListingData:
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
        address_line_1=form.address_line_1.data or "",
        address_line_2=form.address_line_2.data or "",
        town=form.town.data or "",
        opening_times=opening_times,
        minimum_age=form.minimum_age.data,
        maximum_age=form.maximum_age.data,
        eligibility=form.eligibility.data or "",
        access=form.access.data or None,
        waiting_time=form.waiting_time.data or "",
        cqc_number=form.cqc_number.data or None,
        charity_number=form.charity_number.data or None,
        company_number=form.company_number.data or None,
        dbs_checked=_yes_no(form.dbs_checked.data),
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
        "address_line_1": data.address_line_1,
        "address_line_2": data.address_line_2,
        "town": data.town,
        "minimum_age": data.minimum_age,
        "maximum_age": data.maximum_age,
        "eligibility": data.eligibility,
        "access": data.access or "",
        "waiting_time": data.waiting_time,
        "cqc_number": data.cqc_number or "",
        "charity_number": data.charity_number or "",
        "company_number": data.company_number or "",
        "dbs_checked": "" if data.dbs_checked is None else ("yes" if data.dbs_checked else "no"),
    }
    for opening in data.opening_times:
        values[f"day{opening.weekday}_opens"] = opening.opens
        values[f"day{opening.weekday}_closes"] = opening.closes
        values[f"day{opening.weekday}_note"] = opening.note
    for row, price in enumerate(data.prices[:PRICE_ROWS], start=1):
        pounds, pence = divmod(price.amount_pence, 100)
        values[f"price{row}_amount"] = "" if price.unit == "free" else f"{pounds}.{pence:02d}"
        values[f"price{row}_unit"] = price.unit
        values[f"price{row}_label"] = price.label
    return values
