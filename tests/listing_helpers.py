"""Building listings and moderators for tests."""

from __future__ import annotations

from dataclasses import replace

import pyotp
from sqlalchemy import select

from marketplace.db import utcnow
from marketplace.organisations.models import ApprovalStatus, OrganisationKind, StaffRole
from marketplace.providers.models import Category
from marketplace.providers.services import ListingData, PriceOption
from tests.factories import CouncilFactory, OrganisationFactory, StaffFactory, UserFactory


def category_ids(session, *slugs: str) -> tuple[int, ...]:
    query = select(Category.id).order_by(Category.position)
    if slugs:
        query = query.where(Category.slug.in_(slugs))
    return tuple(session.scalars(query).all()[: len(slugs) or 1])


def listing_data(session, council, **overrides) -> ListingData:
    data = ListingData(
        name="Peer support group",
        summary="A weekly group run by people with lived experience.",
        description="We meet every Tuesday evening.",
        category_ids=category_ids(session, "peer-support"),
        delivery_modes=("in_person",),
        prices=(PriceOption(500, "session", "per person"),),
        council_ids=(council.id,),
    )
    return replace(data, **overrides)


def provider_with_staff(council=None, name=None):
    """An approved provider organisation and one approved member of staff."""
    council = council or CouncilFactory()
    org = OrganisationFactory(
        kind=OrganisationKind.PROVIDER.value, **({"name": name} if name else {})
    )
    org.councils.append(council)
    staff = StaffFactory(
        organisation=org, role=StaffRole.OWNER.value, user=UserFactory(roles=["provider_staff"])
    ).user
    return org, staff, council


def ulo_moderator(council, second_factor: bool = True):
    """ULO staff covering one council area (with a second factor unless told otherwise)."""
    ulo = OrganisationFactory(kind=OrganisationKind.ULO.value, status=ApprovalStatus.APPROVED.value)
    ulo.councils.append(council)
    extra = (
        {"totp_secret": pyotp.random_base32(), "totp_enabled_at": utcnow()} if second_factor else {}
    )
    user = UserFactory(roles=["ulo_staff"], **extra)
    StaffFactory(organisation=ulo, user=user)
    return user
