"""Directory listings (services offered by providers), their categories and prices."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    Time,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, utcnow
from marketplace.organisations.models import Organisation
from marketplace.places.models import Council


class ListingStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    REJECTED = "rejected"
    HIDDEN = "hidden"


class DeliveryMode(enum.StrEnum):
    IN_PERSON = "in_person"
    AT_HOME = "at_home"
    ONLINE = "online"
    PHONE = "phone"


DELIVERY_LABELS = {
    DeliveryMode.IN_PERSON: "In person",
    DeliveryMode.AT_HOME: "At home",
    DeliveryMode.ONLINE: "Online",
    DeliveryMode.PHONE: "By phone",
}


# Ways of delivering that reach people wherever they live in the area a listing serves.
REMOTE_MODES = frozenset({DeliveryMode.ONLINE.value, DeliveryMode.PHONE.value})


class PriceUnit(enum.StrEnum):
    HOUR = "hour"
    SESSION = "session"
    WEEK = "week"
    MONTH = "month"
    ONE_OFF = "one_off"
    FREE = "free"


PRICE_UNIT_LABELS = {
    PriceUnit.HOUR: "per hour",
    PriceUnit.SESSION: "per session",
    PriceUnit.WEEK: "per week",
    PriceUnit.MONTH: "per month",
    PriceUnit.ONE_OFF: "one-off",
    PriceUnit.FREE: "free",
}


class Community(enum.StrEnum):
    BME = "bme"
    LGBTQ = "lgbtq"
    WOMEN = "women"
    MEN = "men"
    YOUNG_ADULTS = "young_adults"
    OLDER_PEOPLE = "older_people"
    DEAF = "deaf"
    FAITH = "faith"


COMMUNITY_LABELS = {
    Community.BME: "Black and minority ethnic communities",
    Community.LGBTQ: "LGBTQ+ people",
    Community.WOMEN: "Women only",
    Community.MEN: "Men only",
    Community.YOUNG_ADULTS: "Young adults (18 to 25)",
    Community.OLDER_PEOPLE: "Older people",
    Community.DEAF: "Deaf people (BSL)",
    Community.FAITH: "Faith communities",
}

LANGUAGES = [
    "English",
    "British Sign Language",
    "Arabic",
    "Bengali",
    "Cantonese",
    "Gujarati",
    "Hindi",
    "Kurdish",
    "Mandarin",
    "Polish",
    "Portuguese",
    "Punjabi",
    "Romanian",
    "Somali",
    "Spanish",
    "Tigrinya",
    "Turkish",
    "Urdu",
    "Welsh",
]


class Access(enum.StrEnum):
    """How a person gets into a service."""

    SELF_REFERRAL = "self_referral"
    REFERRAL = "referral"
    BOTH = "both"


ACCESS_LABELS = {
    Access.SELF_REFERRAL: "Contact the provider yourself (self-referral)",
    Access.REFERRAL: "You need a referral, for example from your GP or social worker",
    Access.BOTH: "Contact the provider yourself, or be referred",
}

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# RFC 5545 BYDAY codes, which ORUK schedules use, in the same order as WEEKDAYS.
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def clock_words(value: time) -> str:
    """A time as GOV.UK writes it: 9am, 5:30pm, midday, midnight."""
    if (value.hour, value.minute) == (0, 0):
        return "midnight"
    if (value.hour, value.minute) == (12, 0):
        return "midday"
    hour = value.hour % 12 or 12
    minutes = f":{value.minute:02d}" if value.minute else ""
    return f"{hour}{minutes}{'am' if value.hour < 12 else 'pm'}"


def age_range_words(minimum: int | None, maximum: int | None) -> str:
    """'18 to 65', '18 and over', 'up to 25'; '' when neither is given."""
    if minimum is not None and maximum is not None:
        return f"{minimum} only" if minimum == maximum else f"{minimum} to {maximum}"
    if minimum is not None:
        return f"{minimum} and over"
    if maximum is not None:
        return f"Up to {maximum}"
    return ""


class Specialism(enum.StrEnum):
    MENTAL_HEALTH = "mental_health"
    MAINSTREAM = "mainstream"


listing_categories = Table(
    "listing_categories",
    Base.metadata,
    Column("listing_id", ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
)

listing_councils = Table(
    "listing_councils",
    Base.metadata,
    Column("listing_id", ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True),
    Column("council_id", ForeignKey("councils.id", ondelete="CASCADE"), primary_key=True),
)


def new_uuid() -> str:
    """A random UUID as text: the public identifier used by the Open Referral API."""
    return str(uuid.uuid4())


class Category(Base):
    """One term of the directory's fixed taxonomy (seeded by migration, editable by admins)."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class Listing(Base):
    """A service a provider offers. Only published listings are public or searchable."""

    __tablename__ = "listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=ListingStatus.DRAFT.value, index=True)
    name: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(String(500), default="")  # comma-separated free tags
    delivery_modes: Mapped[str] = mapped_column(String(100), default="")  # DeliveryMode values
    languages: Mapped[str] = mapped_column(String(500), default="English")
    communities: Mapped[str] = mapped_column(String(200), default="")  # Community values
    accessibility: Mapped[str] = mapped_column(Text, default="")
    takes_direct_payments: Mapped[bool] = mapped_column(Boolean, default=True)
    takes_managed_accounts: Mapped[bool] = mapped_column(Boolean, default=False)
    specialism: Mapped[str] = mapped_column(String(20), default=Specialism.MAINSTREAM.value)
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(255))
    times: Mapped[str] = mapped_column(Text, default="")
    address_line_1: Mapped[str] = mapped_column(String(120), default="")
    address_line_2: Mapped[str] = mapped_column(String(120), default="")
    town: Mapped[str] = mapped_column(String(80), default="")
    postcode: Mapped[str | None] = mapped_column(String(8))
    easting: Mapped[int | None] = mapped_column(Integer)
    northing: Mapped[int | None] = mapped_column(Integer)
    radius_miles: Mapped[int | None] = mapped_column(Integer)
    # Open to anyone in England online or by phone, not only to the councils in `councils`.
    serves_nationally: Mapped[bool] = mapped_column(Boolean, default=False)
    # Lowest price in pence (0 when free), kept for price filters and sorting.
    min_price_pence: Mapped[int | None] = mapped_column(Integer, index=True)
    # Who it is for: an age range (either end may be open) and anything else in words.
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    maximum_age: Mapped[int | None] = mapped_column(Integer)
    eligibility: Mapped[str] = mapped_column(Text, default="")
    # How to get in (an Access value; None when the provider has not said) and the usual wait.
    access: Mapped[str | None] = mapped_column(String(20))
    waiting_time: Mapped[str] = mapped_column(String(200), default="")
    # Registrations: Care Quality Commission ("1-" and digits), charity, company; whether staff
    # who visit people's homes are DBS checked (None when not stated or not a home service).
    cqc_number: Mapped[str | None] = mapped_column(String(20))
    charity_number: Mapped[str | None] = mapped_column(String(20))
    company_number: Mapped[str | None] = mapped_column(String(20))
    dbs_checked: Mapped[bool | None] = mapped_column(Boolean)
    # The day provider staff last said the listing is right (on saving it, or with the button);
    # the yearly reminder (providers.check_reminders) goes once per check, marked here.
    last_checked_at: Mapped[date | None] = mapped_column(Date)
    check_reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # An edit to a published listing waits here until a moderator approves it.
    pending_changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    categories: Mapped[list[Category]] = relationship(
        secondary=listing_categories, lazy="selectin", order_by=Category.position
    )
    councils: Mapped[list[Council]] = relationship(
        secondary=listing_councils, lazy="selectin", order_by=Council.name
    )
    prices: Mapped[list[ListingPrice]] = relationship(
        back_populates="listing",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="ListingPrice.position",
    )
    opening_times: Mapped[list[ListingOpeningTime]] = relationship(
        back_populates="listing",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by=lambda: [ListingOpeningTime.weekday, ListingOpeningTime.opens],
    )

    @staticmethod
    def split(text: str) -> list[str]:
        return [part.strip() for part in text.split(",") if part.strip()]

    @property
    def delivery_mode_list(self) -> list[str]:
        return self.split(self.delivery_modes)

    @property
    def language_list(self) -> list[str]:
        return self.split(self.languages)

    @property
    def community_list(self) -> list[str]:
        return self.split(self.communities)

    @property
    def tag_list(self) -> list[str]:
        return self.split(self.tags)

    @property
    def is_remote(self) -> bool:
        """Offered online or by phone, so distance does not matter to who can use it."""
        return bool(REMOTE_MODES & set(self.delivery_mode_list))

    @property
    def address_lines(self) -> list[str]:
        """The street address, line by line, ending with the postcode (blank lines left out)."""
        lines = [self.address_line_1, self.address_line_2, self.town, self.postcode or ""]
        return [line.strip() for line in lines if line and line.strip()]

    @property
    def age_range(self) -> str:
        return age_range_words(self.minimum_age, self.maximum_age)

    @property
    def access_label(self) -> str:
        return ACCESS_LABELS.get(Access(self.access), "") if self.access else ""

    @property
    def visits_homes(self) -> bool:
        return DeliveryMode.AT_HOME.value in self.delivery_mode_list

    @property
    def is_published(self) -> bool:
        return self.status == ListingStatus.PUBLISHED.value


class ListingPrice(Base):
    """One price option: an amount in pence and what it buys."""

    __tablename__ = "listing_prices"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    amount_pence: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(120), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    listing: Mapped[Listing] = relationship(back_populates="prices")


class ListingOpeningTime(Base):
    """When a service is open on one day of the week (ORUK: a weekly schedule)."""

    __tablename__ = "listing_opening_times"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(Integer)  # 0 is Monday, as in WEEKDAYS
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)
    note: Mapped[str] = mapped_column(String(120), default="")

    listing: Mapped[Listing] = relationship(back_populates="opening_times")

    @property
    def day_name(self) -> str:
        return WEEKDAYS[self.weekday]

    @property
    def hours(self) -> str:
        """'9am to 5:30pm'."""
        return f"{clock_words(self.opens)} to {clock_words(self.closes)}"
