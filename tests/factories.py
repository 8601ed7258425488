"""factory_boy factories for the models tests need most."""

from __future__ import annotations

import factory

from marketplace.auth.models import Role, UsageIntent, User, UserRole
from marketplace.auth.passwords import hash_password
from marketplace.extensions import db
from marketplace.organisations.models import (
    ApprovalStatus,
    Organisation,
    OrganisationKind,
    OrganisationStaff,
    StaffRole,
)
from marketplace.places.models import Council

PASSWORD = "correct horse battery"
# Hashing once keeps the suite fast: argon2 is deliberately slow.
PASSWORD_HASH = hash_password(PASSWORD)


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    display_name = factory.Sequence(lambda n: f"Person {n}")
    password_hash = PASSWORD_HASH
    usage_intent = UsageIntent.HOLDER.value

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):  # noqa: ANN001 - factory_boy hook
        for role in extracted or ():
            self.roles.append(UserRole(role=Role(role).value))
        if create and extracted:
            db.session.commit()


class CouncilFactory(BaseFactory):
    class Meta:
        model = Council

    code = factory.Sequence(lambda n: f"E0{n:07d}")
    name = factory.Sequence(lambda n: f"Council {n}")


class OrganisationFactory(BaseFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = OrganisationKind.PROVIDER.value
    status = ApprovalStatus.APPROVED.value
    description = "We help people."


class StaffFactory(BaseFactory):
    class Meta:
        model = OrganisationStaff

    organisation = factory.SubFactory(OrganisationFactory)
    user = factory.SubFactory(UserFactory)
    role = StaffRole.STAFF.value
    status = ApprovalStatus.APPROVED.value
