"""Names and links for the audit log page: people by their display name, and subjects with a
page of their own (an organisation, a listing, a pool) linked to it.

Resolved when the page is shown, never stored in the log: an erased person shows as
"Former member", because the log itself cannot be changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.audit import AuditEntry
from marketplace.auth.models import User
from marketplace.moderation.models import ModerationItem
from marketplace.organisations.models import Organisation
from marketplace.places.models import Council
from marketplace.pools.models import Pool
from marketplace.providers.models import Listing


@dataclass(frozen=True)
class Named:
    """How one actor or subject is shown: its words, and a link if it has a page."""

    text: str
    href: str | None = None


def _names(session: Session, model: type, ids: set[int], column: str) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(model.id, getattr(model, column)).where(model.id.in_(ids)))  # type: ignore[attr-defined]
    return {row[0]: row[1] for row in rows}


def names_for(session: Session, entries: Iterable[AuditEntry]) -> dict[int, tuple[Named, Named]]:
    """For each entry id: (who, what it was about)."""
    entries = list(entries)
    wanted: dict[str, set[int]] = {
        "user": set(),
        "organisation": set(),
        "listing": set(),
        "pool": set(),
        "moderation_item": set(),
        "council": set(),
    }
    for entry in entries:
        if entry.actor_id is not None:
            wanted["user"].add(entry.actor_id)
        if entry.subject_id is not None and entry.subject_type in wanted:
            wanted[entry.subject_type].add(entry.subject_id)
    people = _names(session, User, wanted["user"], "display_name")
    known = {
        "user": (people, None),
        "organisation": (
            _names(session, Organisation, wanted["organisation"], "name"),
            ("organisations.show", "org_id"),
        ),
        "listing": (
            _names(session, Listing, wanted["listing"], "name"),
            ("directory.service", "listing_id"),
        ),
        "pool": (_names(session, Pool, wanted["pool"], "title"), ("pools.pool_page", "pool_id")),
        # Claims, alerts and escalation: the queue item's page (moderators only).
        "moderation_item": (
            _names(session, ModerationItem, wanted["moderation_item"], "summary"),
            ("moderation.item", "item_id"),
        ),
        "council": (_names(session, Council, wanted["council"], "name"), None),
    }
    result: dict[int, tuple[Named, Named]] = {}
    for entry in entries:
        who = (
            Named(f"{people.get(entry.actor_id, 'Unknown person')} (#{entry.actor_id})")
            if entry.actor_id is not None
            else Named("system")
        )
        what = Named(f"{entry.subject_type} {entry.subject_id or ''}".strip())
        names, page = known.get(entry.subject_type, ({}, None))
        if entry.subject_id is not None and entry.subject_id in names:
            args: dict[str, Any] = {page[1]: entry.subject_id} if page else {}
            href = url_for(page[0], **args) if page else None
            what = Named(f"{entry.subject_type}: {names[entry.subject_id]}", href)
        result[entry.id] = (who, what)
    return result
