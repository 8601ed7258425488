"""Admins keep the directory's taxonomy: add a category or rename and reorder one."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import Role, User
from marketplace.errors import DomainError, NotAllowed
from marketplace.providers.models import Category

_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """'Sleep-in & night support' -> 'sleep-in-night-support'."""
    return _SLUG.sub("-", name.lower()).strip("-")[:60]


def _require_admin(user: User) -> None:
    if not user.has_role(Role.ADMIN):
        raise NotAllowed("Only admins can change the categories")


def _check(name: str, description: str) -> tuple[str, str]:
    name, description = name.strip(), description.strip()
    if not name:
        raise DomainError("Enter the category's name", field="name")
    if len(name) > 80:
        raise DomainError("Name must be 80 characters or fewer", field="name")
    if len(description) > 500:
        raise DomainError("Description must be 500 characters or fewer", field="description")
    return name, description


def add_category(
    session: Session, admin: User, name: str, description: str, position: int
) -> Category:
    """A new category; its slug (used in search URLs) is made from the name once."""
    _require_admin(admin)
    name, description = _check(name, description)
    slug = slugify(name)
    if not slug:
        raise DomainError("Use some letters or numbers in the name", field="name")
    if session.scalars(select(Category).where(Category.slug == slug)).first() is not None:
        raise DomainError("A category with this name already exists", field="name")
    category = Category(slug=slug, name=name, description=description, position=position)
    session.add(category)
    session.flush()  # the audit entry names the category
    audit.record(session, admin.id, "category.added", "category", category.id, name)
    return category


def update_category(
    session: Session, admin: User, category: Category, name: str, description: str, position: int
) -> None:
    """Rename, redescribe or reorder a category. The slug stays, so saved searches keep working."""
    _require_admin(admin)
    category.name, category.description = _check(name, description)
    category.position = position
    audit.record(session, admin.id, "category.changed", "category", category.id, category.name)
