"""Listing rules: create, edit, submit, and what moderation decisions do to a listing.

Lifecycle: draft -> submitted -> published | rejected(reason); published -> hidden -> published.
An edit to a published listing is kept in `pending_changes` while the old version stays live.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from marketplace import audit
from marketplace.auth.models import Role, User
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, ModerationItem
from marketplace.organisations import services as organisations
from marketplace.organisations.models import Organisation, OrganisationKind
from marketplace.places import postcodes
from marketplace.places.models import Council
from marketplace.places.services import place_for_postcode
from marketplace.providers.models import (
    LANGUAGES,
    REMOTE_MODES,
    WEEKDAYS,
    Access,
    Category,
    Community,
    DeliveryMode,
    Listing,
    ListingOpeningTime,
    ListingPrice,
    ListingStatus,
    PriceUnit,
    Specialism,
)

ITEM_LISTING = "listing"
ITEM_LISTING_EDIT = "listing_edit"
MAX_RADIUS_MILES = 200
MAX_AGE = 120
# Care Quality Commission ids are "1-" and digits; a charity number is the Charity Commission's
# (England and Wales, maybe with a "-1" subsidiary suffix), OSCR's "SC" or Northern Ireland's
# "NIC"/"NI"; a company number is Companies House's 8 characters (digits, or 2 letters first).
CQC_NUMBER = re.compile(r"1-\d{6,15}")
CHARITY_NUMBER = re.compile(r"\d{6,7}(-\d{1,2})?|SC\d{6}|NIC?\d{5,6}")
COMPANY_NUMBER = re.compile(r"\d{8}|[A-Z]{2}\d{6}")
TIME_HINT = "Use the 24-hour clock, like 09:30 or 17:00"
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class PriceOption:
    """An amount in pence and what it buys (FREE has amount 0)."""

    amount_pence: int
    unit: str
    label: str = ""


@dataclass(frozen=True)
class OpeningTime:
    """Open on one day of the week (0 is Monday) from one time to another ("09:00")."""

    weekday: int
    opens: str
    closes: str
    note: str = ""


def parse_time(text: str) -> time | None:
    """'9:30' or '09:30' as a time; None if it is not a 24-hour time."""
    match = _TIME.fullmatch(text.strip())
    return time(int(match.group(1)), int(match.group(2))) if match else None


def _clock(text: str) -> time:
    """A validated opening or closing time."""
    value = parse_time(text)
    if value is None:
        raise DomainError("Enter times as 24-hour times, like 09:30", field="opening_times")
    return value


def normal_registration(text: str | None, digits_only_width: int = 0) -> str | None:
    """A registration number without spaces, in capitals; company numbers given without their
    leading zeros get them back (digits_only_width=8). None when blank."""
    value = "".join((text or "").split()).upper()
    if digits_only_width and value.isdigit() and len(value) < digits_only_width:
        value = value.zfill(digits_only_width)
    return value or None


@dataclass(frozen=True)
class ListingData:
    """Everything a provider says about a service, already parsed from the form."""

    name: str
    summary: str
    description: str = ""
    category_ids: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    delivery_modes: tuple[str, ...] = ()
    prices: tuple[PriceOption, ...] = ()
    council_ids: tuple[int, ...] = ()
    postcode: str | None = None
    radius_miles: int | None = None
    serves_nationally: bool = False
    languages: tuple[str, ...] = ("English",)
    communities: tuple[str, ...] = ()
    accessibility: str = ""
    takes_direct_payments: bool = True
    takes_managed_accounts: bool = False
    specialism: str = Specialism.MAINSTREAM.value
    contact_email: str | None = None
    contact_phone: str | None = None
    website: str | None = None
    times: str = ""
    address_line_1: str = ""
    address_line_2: str = ""
    town: str = ""
    opening_times: tuple[OpeningTime, ...] = ()
    minimum_age: int | None = None
    maximum_age: int | None = None
    eligibility: str = ""
    access: str | None = None
    waiting_time: str = ""
    cqc_number: str | None = None
    charity_number: str | None = None
    company_number: str | None = None
    dbs_checked: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe copy, for keeping an edit until it is approved."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ListingData:
        """Rebuild from to_json()'s output."""
        values = dict(data)
        values["prices"] = tuple(PriceOption(**p) for p in values.get("prices", ()))
        values["opening_times"] = tuple(OpeningTime(**o) for o in values.get("opening_times", ()))
        for key in (
            "category_ids",
            "tags",
            "delivery_modes",
            "council_ids",
            "languages",
            "communities",
        ):
            values[key] = tuple(values.get(key, ()))
        return cls(**values)


def data_from_listing(listing: Listing) -> ListingData:
    """The listing's current content as ListingData (to prefill an edit form)."""
    return ListingData(
        name=listing.name,
        summary=listing.summary,
        description=listing.description,
        category_ids=tuple(c.id for c in listing.categories),
        tags=tuple(listing.tag_list),
        delivery_modes=tuple(listing.delivery_mode_list),
        prices=tuple(PriceOption(p.amount_pence, p.unit, p.label) for p in listing.prices),
        council_ids=tuple(c.id for c in listing.councils),
        postcode=listing.postcode,
        radius_miles=listing.radius_miles,
        serves_nationally=listing.serves_nationally,
        languages=tuple(listing.language_list),
        communities=tuple(listing.community_list),
        accessibility=listing.accessibility,
        takes_direct_payments=listing.takes_direct_payments,
        takes_managed_accounts=listing.takes_managed_accounts,
        specialism=listing.specialism,
        contact_email=listing.contact_email,
        contact_phone=listing.contact_phone,
        website=listing.website,
        times=listing.times,
        address_line_1=listing.address_line_1,
        address_line_2=listing.address_line_2,
        town=listing.town,
        opening_times=tuple(
            OpeningTime(o.weekday, f"{o.opens:%H:%M}", f"{o.closes:%H:%M}", o.note)
            for o in listing.opening_times
        ),
        minimum_age=listing.minimum_age,
        maximum_age=listing.maximum_age,
        eligibility=listing.eligibility,
        access=listing.access,
        waiting_time=listing.waiting_time,
        cqc_number=listing.cqc_number,
        charity_number=listing.charity_number,
        company_number=listing.company_number,
        dbs_checked=listing.dbs_checked,
    )


def opening_problems(opening: OpeningTime) -> list[tuple[str, str]]:
    """What is wrong with one day's opening times, as (which box: "opens", "closes" or "note",
    message) pairs; empty when nothing is. The form puts each beside its box."""
    day = WEEKDAYS[opening.weekday]
    problems: list[tuple[str, str]] = []
    for part, text in (("opens", opening.opens), ("closes", opening.closes)):
        if not text.strip():
            problems.append((part, f"Enter the time it {part} on {day}"))
        elif parse_time(text) is None:
            problems.append((part, f"Enter the time it {part} on {day}. {TIME_HINT}"))
    opens, closes = parse_time(opening.opens), parse_time(opening.closes)
    if opens is not None and closes is not None and closes <= opens:
        problems.append(("closes", f"The closing time on {day} must be after the opening time"))
    if len(opening.note) > 120:
        problems.append(("note", f"Keep the note for {day} to 120 characters"))
    return problems


def _validate_opening_times(opening_times: tuple[OpeningTime, ...]) -> None:
    days: set[int] = set()
    for opening in opening_times:
        if not 0 <= opening.weekday < len(WEEKDAYS):
            raise DomainError("Choose a day of the week", field="opening_times")
        if opening.weekday in days:
            raise DomainError(f"Give {WEEKDAYS[opening.weekday]} once", field="opening_times")
        days.add(opening.weekday)
        for _part, message in opening_problems(opening):
            raise DomainError(message, field="opening_times")


def _validate_details(data: ListingData) -> None:
    """The details council directories carry: address, who it is for, access, registrations."""
    if len(data.address_line_1) > 120 or len(data.address_line_2) > 120:
        raise DomainError("Keep each address line to 120 characters", field="address_line_1")
    if len(data.town) > 80:
        raise DomainError("Keep the town or city to 80 characters", field="town")
    if data.address_line_2.strip() or data.town.strip() or data.address_line_1.strip():
        # An address people can go to: ORUK needs its first line and town, and we place it
        # by its postcode.
        if not data.address_line_1.strip():
            raise DomainError("Enter the first line of the address", field="address_line_1")
        if not data.town.strip():
            raise DomainError("Enter the town or city of the address", field="town")
        if not data.postcode:
            raise DomainError("Enter the postcode of the address", field="postcode")
    _validate_opening_times(data.opening_times)
    for age, name in ((data.minimum_age, "minimum_age"), (data.maximum_age, "maximum_age")):
        if age is not None and not 0 <= age <= MAX_AGE:
            raise DomainError(f"Enter an age from 0 to {MAX_AGE}", field=name)
    if (
        data.minimum_age is not None
        and data.maximum_age is not None
        and data.maximum_age < data.minimum_age
    ):
        raise DomainError(
            "The oldest age must be the same as or more than the youngest age",
            field="maximum_age",
        )
    if len(data.eligibility) > 1000:
        raise DomainError("Keep who it is for to 1000 characters", field="eligibility")
    if data.access is not None and data.access not in {a.value for a in Access}:
        raise DomainError("Choose how people get into the service", field="access")
    if len(data.waiting_time) > 200:
        raise DomainError("Keep the waiting time to 200 characters", field="waiting_time")
    cqc = normal_registration(data.cqc_number)
    if cqc is not None and not CQC_NUMBER.fullmatch(cqc):
        raise DomainError(
            "Enter a CQC registration number as 1- and then digits, like 1-123456789",
            field="cqc_number",
        )
    charity = normal_registration(data.charity_number)
    if charity is not None and not CHARITY_NUMBER.fullmatch(charity):
        raise DomainError(
            "Enter a charity number like 1123456, SC012345 or NIC100001", field="charity_number"
        )
    company = normal_registration(data.company_number, digits_only_width=8)
    if company is not None and not COMPANY_NUMBER.fullmatch(company):
        raise DomainError(
            "Enter a company number like 01234567 or SC123456", field="company_number"
        )


def _validate(session: Session, data: ListingData) -> None:
    if not data.name.strip():
        raise DomainError("Enter the name of the service", field="name")
    if len(data.name) > 120:
        raise DomainError("Name must be 120 characters or fewer", field="name")
    if not data.summary.strip():
        raise DomainError("Enter a short summary", field="summary")
    if len(data.summary) > 160:
        raise DomainError("Summary must be 160 characters or fewer", field="summary")
    if not data.category_ids:
        raise DomainError("Select at least one category", field="category_ids")
    if unknown := set(data.delivery_modes) - {m.value for m in DeliveryMode}:
        raise DomainError(
            f"Unknown way of delivering: {sorted(unknown)[0]}", field="delivery_modes"
        )
    if not data.delivery_modes:
        raise DomainError(
            "Select at least one way the service is delivered", field="delivery_modes"
        )
    if unknown := set(data.communities) - {c.value for c in Community}:
        raise DomainError(f"Unknown community: {sorted(unknown)[0]}", field="communities")
    if unknown := set(data.languages) - set(LANGUAGES):
        raise DomainError(
            f"Choose languages from the list, not {sorted(unknown)[0]}", field="languages"
        )
    if data.specialism not in {s.value for s in Specialism}:
        raise DomainError("Choose mental health specialist or mainstream", field="specialism")
    for price in data.prices:
        if price.unit not in {u.value for u in PriceUnit}:
            raise DomainError("Choose what the price is for", field="prices")
        if price.amount_pence < 0:
            raise DomainError("A price cannot be negative", field="prices")
        if price.unit == PriceUnit.FREE.value and price.amount_pence != 0:
            raise DomainError("A free option cannot have a price", field="prices")
    if not data.prices:
        raise DomainError("Give at least one price, or say it is free", field="prices")
    if data.radius_miles is not None and not 0 < data.radius_miles <= MAX_RADIUS_MILES:
        raise DomainError(
            f"Distance must be between 1 and {MAX_RADIUS_MILES} miles", field="radius_miles"
        )
    if data.serves_nationally and not REMOTE_MODES & set(data.delivery_modes):
        raise DomainError(
            "A service for anyone in England must be offered online or by phone",
            field="serves_nationally",
        )
    if not data.council_ids and not data.postcode and not data.serves_nationally:
        raise DomainError(
            "Say where the service is offered: choose council areas or give a postcode",
            field="council_ids",
        )
    known = set(session.scalars(select(Category.id).where(Category.id.in_(data.category_ids))))
    if known != set(data.category_ids):
        raise DomainError("Choose categories from the list", field="category_ids")
    _validate_details(data)


def _apply(
    session: Session, listing: Listing, data: ListingData, today: date | None = None
) -> None:
    """Write validated data onto the listing (postcode looked up here).

    The provider's staff wrote it, so it counts as checked by them today (last_checked_at).
    """
    place = place_for_postcode(data.postcode)
    councils = list(session.scalars(select(Council).where(Council.id.in_(data.council_ids))))
    if len(councils) != len(set(data.council_ids)):
        raise DomainError("Choose council areas from the list", field="council_ids")
    listing.name = data.name.strip()
    listing.summary = data.summary.strip()
    listing.description = data.description.strip()
    listing.categories = list(
        session.scalars(select(Category).where(Category.id.in_(data.category_ids)))
    )
    listing.tags = ", ".join(t.strip() for t in data.tags if t.strip())
    listing.delivery_modes = ",".join(sorted(set(data.delivery_modes)))
    listing.languages = ", ".join(data.languages) or "English"
    listing.communities = ",".join(sorted(set(data.communities)))
    listing.accessibility = data.accessibility.strip()
    listing.takes_direct_payments = data.takes_direct_payments
    listing.takes_managed_accounts = data.takes_managed_accounts
    listing.specialism = data.specialism
    listing.contact_email = data.contact_email or None
    listing.contact_phone = data.contact_phone or None
    listing.website = data.website or None
    listing.times = data.times.strip()
    listing.councils = councils
    listing.serves_nationally = data.serves_nationally
    listing.postcode = place.postcode if place else None
    listing.easting = place.easting if place else None
    listing.northing = place.northing if place else None
    listing.radius_miles = data.radius_miles if place else None
    listing.prices = [
        ListingPrice(amount_pence=p.amount_pence, unit=p.unit, label=p.label.strip(), position=i)
        for i, p in enumerate(data.prices)
    ]
    listing.min_price_pence = min(p.amount_pence for p in data.prices)
    listing.address_line_1 = data.address_line_1.strip()
    listing.address_line_2 = data.address_line_2.strip()
    listing.town = data.town.strip()
    listing.opening_times = [
        ListingOpeningTime(
            weekday=o.weekday,
            opens=_clock(o.opens),
            closes=_clock(o.closes),
            note=o.note.strip(),
        )
        for o in sorted(data.opening_times, key=lambda o: o.weekday)
    ]
    listing.minimum_age = data.minimum_age
    listing.maximum_age = data.maximum_age
    listing.eligibility = data.eligibility.strip()
    listing.access = data.access or None
    listing.waiting_time = data.waiting_time.strip()
    listing.cqc_number = normal_registration(data.cqc_number)
    listing.charity_number = normal_registration(data.charity_number)
    listing.company_number = normal_registration(data.company_number, digits_only_width=8)
    # Only asked of services that visit people's homes: elsewhere the answer means nothing.
    at_home = DeliveryMode.AT_HOME.value in data.delivery_modes
    listing.dbs_checked = data.dbs_checked if at_home else None
    listing.last_checked_at = today or utcnow().date()
    listing.check_reminded_at = None


def _require_staff(session: Session, user: User, org: Organisation) -> None:
    """Staff of an approved provider may change its listings; so may an admin, audited."""
    if org.kind != OrganisationKind.PROVIDER.value:
        raise NotAllowed("Only provider organisations list services")
    if organisations.is_staff(session, user, org):
        return
    if user.has_role(Role.ADMIN) and org.is_approved:
        audit.record(session, user.id, "listing.admin_change", "organisation", org.id)
        return
    raise NotAllowed("You do not work for this organisation")


def can_manage(session: Session, user: User, listing: Listing) -> bool:
    """True if this person is approved staff of the listing's organisation."""
    return organisations.is_staff(session, user, listing.organisation)


def create_listing(session: Session, user: User, org: Organisation, data: ListingData) -> Listing:
    """A new draft listing for the organisation."""
    _require_staff(session, user, org)
    _validate(session, data)
    listing = Listing(organisation=org, status=ListingStatus.DRAFT.value)
    _apply(session, listing, data)
    session.add(listing)
    session.flush()  # the view redirects to the new listing's preview
    return listing


def update_listing(session: Session, user: User, listing: Listing, data: ListingData) -> None:
    """Change a listing. A published one keeps its live version until the edit is approved."""
    _require_staff(session, user, listing.organisation)
    _validate(session, data)
    if listing.status in (ListingStatus.PUBLISHED.value, ListingStatus.HIDDEN.value):
        _apply(session, Listing(), data)  # check the postcode and councils now, not at approval
        listing.pending_changes = data.to_json()
        moderation.withdraw(session, ITEM_LISTING_EDIT, listing.id)
        return
    _apply(session, listing, data)
    if listing.status in (ListingStatus.SUBMITTED.value, ListingStatus.REJECTED.value):
        moderation.withdraw(session, ITEM_LISTING, listing.id)
        listing.status = ListingStatus.DRAFT.value


def listing_council_codes(listing: Listing) -> set[str]:
    """The council areas a listing serves (its councils and its postcode's council).

    Moderation uses these so that local ULO staff see the listing and everything about it.
    """
    codes = {c.code for c in listing.councils}
    if listing.postcode:
        codes |= _postcode_council(listing.postcode)
    if listing.serves_nationally:
        # A service for all of England may name no council: the ULOs where its provider is
        # based look after it, rather than only the site's admins.
        codes |= {c.code for c in listing.organisation.councils}
    return codes


def _postcode_council(postcode: str) -> set[str]:
    try:
        return {postcodes.lookup(postcode).council_code}
    except postcodes.UnknownPostcode:
        return set()  # checked when saved; a retired postcode must not block moderation


def _proposed_council_codes(session: Session, listing: Listing, data: ListingData) -> set[str]:
    codes = listing_council_codes(listing)
    codes |= set(session.scalars(select(Council.code).where(Council.id.in_(data.council_ids))))
    if data.postcode:
        codes |= _postcode_council(data.postcode)
    return codes


def submit_listing(session: Session, user: User, listing: Listing) -> ModerationItem:
    """Send a draft (or a pending edit) to the moderators."""
    _require_staff(session, user, listing.organisation)
    if listing.pending_changes is not None:
        data = ListingData.from_json(listing.pending_changes)
        return moderation.submit(
            session,
            ITEM_LISTING_EDIT,
            listing.id,
            f"Changes to {listing.name}",
            user,
            _proposed_council_codes(session, listing, data),
        )
    if listing.status not in (ListingStatus.DRAFT.value, ListingStatus.REJECTED.value):
        raise DomainError("This listing has already been sent for checking")
    listing.status = ListingStatus.SUBMITTED.value
    listing.rejection_reason = None
    return moderation.submit(
        session,
        ITEM_LISTING,
        listing.id,
        listing.name,
        user,
        listing_council_codes(listing),
    )


def discard_changes(session: Session, user: User, listing: Listing) -> None:
    """Drop an unapproved edit; the live version is untouched."""
    _require_staff(session, user, listing.organisation)
    listing.pending_changes = None
    moderation.withdraw(session, ITEM_LISTING_EDIT, listing.id)


def _decide_listing(
    session: Session, item: ModerationItem, decision: Decision, reason: str
) -> None:
    listing = session.get(Listing, item.item_id)
    if listing is None:
        raise DomainError("This listing no longer exists")
    if decision is Decision.APPROVE:
        listing.status = ListingStatus.PUBLISHED.value
        listing.published_at = utcnow()
        listing.rejection_reason = None
    else:
        listing.status = ListingStatus.REJECTED.value
        listing.rejection_reason = reason


def _decide_edit(session: Session, item: ModerationItem, decision: Decision, reason: str) -> None:
    listing = session.get(Listing, item.item_id)
    if listing is None or listing.pending_changes is None:
        raise DomainError("These changes have been withdrawn")
    if decision is Decision.APPROVE:
        _apply(session, listing, ListingData.from_json(listing.pending_changes))
        listing.pending_changes = None
        listing.rejection_reason = None
    else:
        listing.rejection_reason = reason


def set_hidden(
    session: Session, moderator: User, listing: Listing, hidden: bool, reason: str
) -> None:
    """A moderator hides a published listing (or shows it again). Audited."""
    codes = listing_council_codes(listing)
    areas = moderation.moderated_council_codes(session, moderator)
    if areas is not None and not areas.intersection(codes):
        raise NotAllowed("You cannot moderate this listing")
    if hidden:
        if listing.status != ListingStatus.PUBLISHED.value:
            raise DomainError("Only a published listing can be hidden")
        if not reason.strip():
            raise DomainError("Say why the listing is hidden", field="reason")
        listing.status = ListingStatus.HIDDEN.value
    else:
        if listing.status != ListingStatus.HIDDEN.value:
            raise DomainError("This listing is not hidden")
        listing.status = ListingStatus.PUBLISHED.value
    action = "listing.hidden" if hidden else "listing.shown"
    audit.record(session, moderator.id, action, ITEM_LISTING, listing.id, reason.strip())


def listings_of(session: Session, org: Organisation) -> list[Listing]:
    """An organisation's listings, newest first."""
    return list(
        session.scalars(
            select(Listing)
            .where(Listing.organisation_id == org.id)
            .order_by(Listing.updated_at.desc(), Listing.id.desc())
        )
    )


def all_categories(session: Session) -> list[Category]:
    """The taxonomy, in display order."""
    return list(session.scalars(select(Category).order_by(Category.position, Category.name)))


def published_listing(session: Session, listing_id: int) -> Listing | None:
    """A listing anyone may see."""
    # One query instead of five: the page never shows the organisation's councils (which the
    # model loads eagerly; still loaded on first use if anything asks), and a listing has a few
    # categories and prices, so joining them costs a few rows rather than two more queries.
    # Its councils can be many (a national provider), and its opening times up to seven rows, so
    # they keep their own queries rather than multiplying the rows.
    listing = session.get(
        Listing,
        listing_id,
        options=[
            joinedload(Listing.organisation).lazyload(Organisation.councils),
            joinedload(Listing.categories),
            joinedload(Listing.prices),
        ],
    )
    return listing if listing is not None and listing.is_published else None


MAX_SHARED_LISTINGS = 50


def shared_listing_ids(text: str) -> list[int]:
    """The listing ids in a shared list's link ("12,34"), in order, each once; anything that is
    not an id is left out, and at most MAX_SHARED_LISTINGS are kept."""
    ids: list[int] = []
    for part in text.split(",")[: MAX_SHARED_LISTINGS * 2]:
        part = part.strip()
        if part.isascii() and part.isdigit() and len(part) <= 9 and int(part) not in ids:
            ids.append(int(part))
    return ids[:MAX_SHARED_LISTINGS]


def published_listings(session: Session, listing_ids: list[int]) -> list[Listing]:
    """These listings, those anyone may see, in the order given."""
    if not listing_ids:
        return []
    found = {
        listing.id: listing
        for listing in session.scalars(
            select(Listing).where(
                Listing.id.in_(listing_ids), Listing.status == ListingStatus.PUBLISHED.value
            )
        )
    }
    return [found[listing_id] for listing_id in listing_ids if listing_id in found]
