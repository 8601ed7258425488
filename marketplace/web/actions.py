"""Running a state change from a button: commit and say so, or roll back and say why."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash

from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db


def button_action(change: Callable[[], object], done: str) -> bool:
    """Run `change`; on success commit and flash `done`, on a DomainError roll back and flash
    its plain-English message. Someone not allowed gets 403. Returns whether it worked."""
    try:
        change()
    except NotAllowed:
        abort(403)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return False
    db.session.commit()
    flash(done, "success")
    return True
