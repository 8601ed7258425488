"""Admins keep the taxonomy; nobody else can."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.providers import categories
from marketplace.providers.models import Category
from marketplace.providers.services import all_categories
from tests.factories import UserFactory
from tests.helpers import post, sign_in


def test_taxonomy_is_seeded_by_the_migration(db_session):
    slugs = [c.slug for c in all_categories(db_session)]
    assert "peer-support" in slugs
    assert len(slugs) >= 10


def test_admin_adds_and_renames_a_category_keeping_its_slug(db_session):
    admin = UserFactory(roles=["admin"])
    category = categories.add_category(db_session, admin, "Gardening & allotments", "", 50)
    assert category.slug == "gardening-allotments"
    categories.update_category(db_session, admin, category, "Gardening", "Growing things", 2)
    assert (category.slug, category.name, category.position) == (
        "gardening-allotments",
        "Gardening",
        2,
    )
    with pytest.raises(DomainError) as error:
        categories.add_category(db_session, admin, "Gardening  allotments!", "", 1)
    assert error.value.field == "name"


def test_only_admins_change_categories(db_session):
    holder = UserFactory(roles=["holder", "ulo_staff"])
    with pytest.raises(NotAllowed):
        categories.add_category(db_session, holder, "Anything", "", 1)


def test_category_pages(client, db_session):
    admin = UserFactory(
        roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
    )
    sign_in(client, admin)
    assert "Peer support" in client.get("/admin/categories").get_data(as_text=True)
    html = post(client, "/admin/categories", {"name": "", "position": "x"}).get_data(as_text=True)
    assert "Enter the category" in html
    assert (
        post(client, "/admin/categories", {"name": "Gardening", "position": "3"}).status_code == 302
    )
    category = db_session.scalars(select(Category).where(Category.slug == "gardening")).one()
    response = post(
        client, f"/admin/categories/{category.id}", {"name": "Growing", "position": "4"}
    )
    assert response.status_code == 302
    holder = UserFactory()
    other = client.application.test_client()
    sign_in(other, holder)
    assert other.get("/admin/categories").status_code == 403
