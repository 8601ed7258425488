"""A person's own data: export everything we hold about them, and erase their account.

Each feature registers an exporter and an eraser here, so a new feature cannot be
forgotten by "Your data" without someone deliberately leaving it out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import EmailChange, PasswordResetToken, User, UserRole
from marketplace.auth.passwords import verify_password
from marketplace.db import utcnow
from marketplace.errors import DomainError

Exporter = Callable[[Session, User], Any]
Eraser = Callable[[Session, User], None]
# Template values for the "Your data" page from another package (casework: your requests).
PageSection = Callable[[Session, User], dict[str, Any]]

_exporters: dict[str, Exporter] = {}
_erasers: list[Eraser] = []
_last_erasers: list[Eraser] = []
# Steps that delete what a person wrote for others to read (reviews, messages), run only when
# the person chooses that; otherwise it stays, credited to "Former member".
_contribution_removers: list[Eraser] = []
_page_sections: list[PageSection] = []


def register_exporter(name: str, exporter: Exporter) -> None:
    """Add a section to the data export."""
    _exporters[name] = exporter


def register_eraser(eraser: Eraser, *, after_others: bool = False) -> None:
    """Add a step to account erasure (runs before the account row is anonymised).

    after_others: for rows other erasers may still read (who cares for whom, who works
    where), deleted once every other eraser has run. Registering twice changes nothing,
    so a package's init_app can run for every app it is given.
    """
    erasers = _last_erasers if after_others else _erasers
    if eraser not in erasers:
        erasers.append(eraser)


def register_contribution_remover(remover: Eraser) -> None:
    """Add a step that deletes what the person wrote for others, when they choose that."""
    if remover not in _contribution_removers:
        _contribution_removers.append(remover)


def register_page_section(section: PageSection) -> None:
    """Add template values to the "Your data" page (idempotent)."""
    if section not in _page_sections:
        _page_sections.append(section)


def page_sections(session: Session, user: User) -> dict[str, Any]:
    """What other packages show on the "Your data" page for this person."""
    values: dict[str, Any] = {}
    for section in _page_sections:
        values.update(section(session, user))
    return values


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _account(_session: Session, user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "usage_intent": user.usage_intent,
        "support_needs": user.support_needs,
        "roles": sorted(r.role for r in user.roles),
        "second_factor_enabled": user.has_second_factor,
        "created_at": _iso(user.created_at),
    }


def register_privacy() -> None:
    """The account itself is the export's first section."""
    register_exporter("account", _account)


def export_user_data(session: Session, user: User) -> dict[str, Any]:
    """Everything held about this person, as JSON-ready data."""
    data: dict[str, Any] = {"exported_at": utcnow().isoformat()}
    for name, exporter in _exporters.items():
        data[name] = exporter(session, user)
    return data


def erase_account(
    session: Session, user: User, password: str, remove_contributions: bool = False
) -> None:
    """Erase a person: personal data removed, the row kept anonymised.

    The row stays so that financial records (kept for the period UK law requires)
    still point at an account, just no longer at a person. With remove_contributions, their
    reviews and messages are deleted too; without it they stay, by "Former member".
    """
    if not verify_password(user.password_hash, password):
        raise DomainError("Your password is not right", field="password")
    if remove_contributions:
        for remover in _contribution_removers:
            remover(session, user)
    for eraser in _erasers:
        eraser(session, user)
    session.execute(delete(PasswordResetToken).where(PasswordResetToken.user_id == user.id))
    session.execute(delete(EmailChange).where(EmailChange.user_id == user.id))
    for eraser in _last_erasers:
        eraser(session, user)
    session.execute(delete(UserRole).where(UserRole.user_id == user.id))
    session.expire(user, ["roles"])
    user.email = f"erased-{user.id}@erased.invalid"
    user.display_name = "Former member"
    user.support_needs = None
    user.password_hash = "!"  # noqa: S105 - matches no password: argon2 cannot parse it
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.session_version += 1
    user.erased_at = utcnow()
    audit.record(session, None, "account.erased", "user", user.id)
