"""Demo directory listings: about three per demo provider, published, across the taxonomy."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.organisations.models import Organisation
from marketplace.places import postcodes
from marketplace.providers import services
from marketplace.providers.models import Access, Category, Community, DeliveryMode, Specialism
from marketplace.providers.services import ListingData, OpeningTime, PriceOption

# (category slug, name pattern, summary, description, price options)
TEMPLATES: list[tuple[str, str, str, str, list[tuple[int, str, str]]]] = [
    (
        "personal-assistants",
        "Personal assistants in {town}",
        "Friendly personal assistants for everyday support at home and out and about.",
        "Our PAs help with shopping, appointments, cooking and getting out. We match you with someone who shares your interests, and you choose who supports you.",
        [(1650, "hour", "weekdays"), (1850, "hour", "evenings and weekends")],
    ),
    (
        "peer-support",
        "{town} hearing voices peer group",
        "A weekly peer-led group for people who hear voices or see visions.",
        "Run by people with lived experience. Come as you are; there is no pressure to talk. Tea, biscuits and a calm room.",
        [(500, "session", "per person"), (0, "free", "first visit")],
    ),
    (
        "peer-support",
        "Wellbeing walking group",
        "Easy-paced walks in green spaces with people who understand.",
        "We walk for about an hour, then have a drink together. Walking side by side makes talking easier. Good for low mood and anxiety.",
        [(300, "session", "")],
    ),
    (
        "advocacy",
        "Independent mental health advocacy",
        "Help to have your say in assessments, reviews and care planning.",
        "An independent advocate can come to meetings with you, help you prepare, and make sure your views are heard.",
        [(0, "free", "funded by the council")],
    ),
    (
        "direct-payment-support",
        "Direct payment payroll and support",
        "Payroll for your personal assistants and help with the paperwork.",
        "We run payroll, pension and tax for your PAs, keep records the council asks for, and explain everything in plain English.",
        [(2500, "month", "payroll"), (4500, "one_off", "setting up")],
    ),
    (
        "sleep-in-support",
        "Night-time sleep-in support",
        "A support worker who stays overnight when nights are hard.",
        "Sleep-in workers stay at your home and are there if you need them in the night. Waking-night support is also available.",
        [(9500, "session", "one night")],
    ),
    (
        "fitness-and-sport",
        "Quiet hours gym membership",
        "A gym with quiet, low-music hours and a supported induction.",
        "Our quiet hours are less busy, with no loud music. A trainer shows you around at your own pace. Swimming pool included.",
        [(2800, "month", "membership")],
    ),
    (
        "arts-and-creativity",
        "Open art studio",
        "Drop-in art sessions with materials provided, in a small friendly group.",
        "Painting, drawing, printmaking and clay. No experience needed. Artists with lived experience run every session.",
        [(600, "session", "")],
    ),
    (
        "learning-and-skills",
        "Computer and phone help",
        "Patient one-to-one help with computers, tablets and phones.",
        "We help with email, video calls, online banking, and staying safe online. At home or in our centre.",
        [(2000, "hour", "")],
    ),
    (
        "work-and-volunteering",
        "Work and volunteering coaching",
        "Support to find and keep paid work or volunteering that suits you.",
        "A coach helps you think about what you want, talk to employers, and ask for reasonable adjustments.",
        [(3500, "session", "90 minutes")],
    ),
    (
        "talking-therapies",
        "Low-cost counselling",
        "Counselling with qualified counsellors, without a long wait.",
        "Weekly 50-minute sessions in person, online or by phone. Counsellors who speak several languages.",
        [(3000, "session", "")],
    ),
    (
        "social-and-community",
        "Friday social club",
        "A relaxed social evening: games, films and food together.",
        "Every Friday evening. A good way to meet people if you have been on your own for a while.",
        [(400, "session", "includes food")],
    ),
    (
        "culturally-specific",
        "South Asian women's wellbeing group",
        "A group for South Asian women, in Urdu, Punjabi and English.",
        "Run by and for South Asian women. Talk, cook, and support each other in a private, women-only space.",
        [(0, "free", "")],
    ),
    (
        "practical-help",
        "Help at home",
        "Cleaning, shopping and cooking support when you need a hand.",
        "Reliable, friendly help around the home. Regular visits or one-off help after a stay in hospital.",
        [(1800, "hour", "")],
    ),
    (
        "travel-and-transport",
        "Travel buddy service",
        "Someone to travel with you until you feel confident on your own.",
        "We help you plan journeys and travel alongside you on buses and trains.",
        [(1500, "hour", "")],
    ),
]

# Services anyone in England can use online or by phone: a place search finds them whatever
# the distance. (name, category slug, summary, description, delivery modes, price options)
NATIONAL: list[tuple[str, str, str, str, tuple[str, ...], list[tuple[int, str, str]]]] = [
    (
        "Online befriending calls",
        "social-and-community",
        "A friendly weekly video or phone call with the same trained volunteer befriender.",
        "Companionship for people who feel lonely or isolated. Your befriender calls at a time "
        "that suits you, every week, for a chat about anything you like.",
        (DeliveryMode.ONLINE.value, DeliveryMode.PHONE.value),
        [(0, "free", "")],
    ),
    (
        "Anxiety support group online",
        "peer-support",
        "A weekly video group for people living with anxiety and panic attacks.",
        "Run by people who have been there. Share what helps, or just listen. Cameras optional.",
        (DeliveryMode.ONLINE.value,),
        [(300, "session", "")],
    ),
    (
        "Telephone counselling",
        "talking-therapies",
        "Counselling sessions by phone with a qualified counsellor, evenings included.",
        "Six to twelve weekly sessions of 50 minutes. Talk about low mood, stress, grief or "
        "anything on your mind, from home.",
        (DeliveryMode.PHONE.value,),
        [(2500, "session", "")],
    ),
]

# The opening days and hours behind each demo "times" text (weekday 0 is Monday).
OPENING_TIMES: dict[str, tuple[OpeningTime, ...]] = {
    "Monday to Friday, 9am to 5pm": tuple(OpeningTime(day, "09:00", "17:00") for day in range(5)),
    "Tuesday evenings, 6pm to 8pm": (OpeningTime(1, "18:00", "20:00"),),
    "Weekends": (
        OpeningTime(5, "10:00", "16:00"),
        OpeningTime(6, "11:00", "15:00", "shorter hours"),
    ),
}
STREETS = ["High Street", "Station Road", "Church Lane", "Market Street", "Park Road", "Mill Lane"]
WAITS = ["No wait: just come along", "About 1 week", "About 2 weeks", "Usually 3 to 4 weeks"]
# Regulated personal care needs Care Quality Commission registration.
CQC_CATEGORIES = {"personal-assistants", "sleep-in-support"}


def _details(
    data: ListingData, category: str, org: Organisation, town: str, key: str
) -> dict[str, Any]:
    """The details council directories carry, for one demo listing. Its own Random, so that the
    rest of the demo data stays as it was before these details existed."""
    rng = random.Random(key)  # noqa: S311 - demo data, not security
    details: dict[str, Any] = {
        "opening_times": OPENING_TIMES.get(data.times, ()),
        "minimum_age": 18,
        "eligibility": f"Adults living in {town}. You do not need a diagnosis.",
        "access": rng.choice(list(Access)).value,
        "waiting_time": rng.choice(WAITS),
    }
    if data.times in OPENING_TIMES:
        details["times"] = "Closed on bank holidays"
    if Community.YOUNG_ADULTS.value in data.communities:
        details["maximum_age"] = 25
    if Community.OLDER_PEOPLE.value in data.communities:
        details["minimum_age"] = 60
    if DeliveryMode.IN_PERSON.value in data.delivery_modes:
        details["address_line_1"] = f"{rng.randint(1, 120)} {rng.choice(STREETS)}"
        details["town"] = town
    if DeliveryMode.AT_HOME.value in data.delivery_modes:
        details["dbs_checked"] = True
    if category in CQC_CATEGORIES:
        details["cqc_number"] = f"1-{rng.randint(100000000, 999999999)}"
    # The same numbers on every listing of one organisation.
    registered = random.Random(f"organisation:{org.name}")  # noqa: S311 - demo data
    if registered.random() < 0.5:
        details["charity_number"] = str(registered.randint(1000000, 1199999))
    details["company_number"] = f"{registered.randint(1, 14_999_999):08d}"
    return details


LANGUAGE_SETS = [
    ("English",),
    ("English", "Urdu", "Punjabi"),
    ("English", "Polish"),
    ("English", "British Sign Language"),
    ("English", "Somali", "Arabic"),
]


def seed_listings(
    session: Session,
    rng: random.Random,
    providers: Sequence[tuple[Organisation, User]],
    moderator: User,
    per_provider: int = 3,
) -> int:
    """Create and publish demo listings for approved providers; returns how many."""
    categories = {c.slug: c for c in session.scalars(select(Category))}
    places = postcodes.demo_places()
    count = 0
    for index, (org, staff) in enumerate(providers):
        if not org.is_approved:
            continue
        council = next((c for c in org.councils if c.name in org.name), org.councils[0])
        local = [p for p in places if p.council_code == council.code] or places
        town = council.name
        for offset in range(per_provider):
            category, name, summary, description, prices = TEMPLATES[
                (index * per_provider + offset) % len(TEMPLATES)
            ]
            modes = [DeliveryMode.IN_PERSON.value]
            if rng.random() < 0.4:
                modes.append(DeliveryMode.ONLINE.value)
            if rng.random() < 0.3:
                modes.append(DeliveryMode.PHONE.value)
            if category in ("personal-assistants", "practical-help", "sleep-in-support"):
                modes = [DeliveryMode.AT_HOME.value]
            community: tuple[str, ...] = ()
            if category == "culturally-specific":
                community = (Community.BME.value, Community.WOMEN.value)
            elif rng.random() < 0.1:
                community = (rng.choice(list(Community)).value,)
            place = rng.choice(local)
            data = ListingData(
                name=name.format(town=town) + ("" if offset == 0 else f" ({org.name.split()[0]})"),
                summary=summary,
                description=description,
                category_ids=(categories[category].id,),
                delivery_modes=tuple(modes),
                prices=tuple(PriceOption(amount, unit, label) for amount, unit, label in prices),
                council_ids=tuple(c.id for c in org.councils),
                postcode=place.postcode,
                radius_miles=rng.choice([None, 3, 5, 10]),
                languages=rng.choice(LANGUAGE_SETS)
                if category != "culturally-specific"
                else ("English", "Urdu", "Punjabi"),
                communities=community,
                takes_direct_payments=True,
                takes_managed_accounts=rng.random() < 0.6,
                specialism=Specialism.MENTAL_HEALTH.value
                if category in ("peer-support", "advocacy", "talking-therapies")
                else Specialism.MAINSTREAM.value,
                contact_phone=f"0{rng.randint(1130000000, 1179999999)}",
                contact_email=f"hello{index + 1}@provider.demo.example.org",
                times=rng.choice(
                    [
                        "Monday to Friday, 9am to 5pm",
                        "Tuesday evenings, 6pm to 8pm",
                        "Weekends",
                        "By arrangement",
                    ]
                ),
            )
            data = replace(data, **_details(data, category, org, town, f"{index}:{offset}"))
            listing = services.create_listing(session, staff, org, data)
            item = services.submit_listing(session, staff, listing)
            moderation.decide(session, moderator, item, Decision.APPROVE, "")
            count += 1
    approved = [(org, staff) for org, staff in providers if org.is_approved]
    for number, ((org, staff), entry) in enumerate(zip(approved, NATIONAL, strict=False), 1):
        name, category, summary, description, reach, prices = entry
        data = ListingData(
            name=name,
            summary=summary,
            description=description,
            category_ids=(categories[category].id,),
            delivery_modes=reach,
            prices=tuple(PriceOption(amount, unit, label) for amount, unit, label in prices),
            serves_nationally=True,
            specialism=Specialism.MENTAL_HEALTH.value
            if category in ("peer-support", "talking-therapies")
            else Specialism.MAINSTREAM.value,
            contact_email=f"national{number}@provider.demo.example.org",
            times="By arrangement",
            minimum_age=18,
            eligibility="Adults anywhere in England.",
            access=Access.SELF_REFERRAL.value,
            waiting_time="About 1 week",
        )
        listing = services.create_listing(session, staff, org, data)
        item = services.submit_listing(session, staff, listing)
        moderation.decide(session, moderator, item, Decision.APPROVE, "")
        count += 1
    return count
