"""Set-up every browser journey shares, written straight into the live server's database:
Leeds, and an approved ULO covering it with moderators who sign in with a second factor.
Call inside `live_server.app.app_context()` (the `site` fixture has bound `db` to it)."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.organisations.models import ApprovalStatus, Organisation, OrganisationKind
from marketplace.places.models import Council
from tests.factories import CouncilFactory, OrganisationFactory, StaffFactory, UserFactory

LEEDS = "E08000035"


def leeds() -> Council:
    """Leeds, made by whichever journey runs first and reused by the others."""
    council = db.session.scalar(select(Council).where(Council.code == LEEDS))
    return council if council is not None else CouncilFactory(code=LEEDS, name="Leeds")


def approved_ulo(name: str, council: Council) -> Organisation:
    """An approved user-led organisation covering this council."""
    ulo = OrganisationFactory(
        name=name, kind=OrganisationKind.ULO.value, status=ApprovalStatus.APPROVED.value
    )
    ulo.councils.append(council)
    return ulo


def ulo_moderator(ulo: Organisation, email: str, totp_secret: str, name: str) -> User:
    """ULO staff with a second factor, approved staff of this ULO."""
    moderator = UserFactory(
        email=email,
        display_name=name,
        roles=["ulo_staff"],
        totp_secret=totp_secret,
        totp_enabled_at=utcnow(),
    )
    StaffFactory(organisation=ulo, user=moderator)
    return moderator
