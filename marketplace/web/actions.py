"""The routes' unit of work: run a service call, then commit and carry on, or roll back and say
why (a flash for a button, the message beside the field for a form). Someone not allowed gets
403. Views use these instead of writing try/except DomainError by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, cast

from flask import abort, flash
from flask_wtf import FlaskForm

from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db
from marketplace.web.forms import failed

T = TypeVar("T")


def button_action(change: Callable[[], object], done: str) -> bool:
    """Run `change`; on success commit and flash `done`, on a DomainError roll back and flash
    its plain-English message. Returns whether it worked."""
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


class Outcome(Generic[T]):
    """What `form_action` did: `ok` with the service's answer, or not (the form shows why)."""

    def __init__(self, ok: bool, value: T | None = None) -> None:
        self.ok = ok
        self._value = value

    @property
    def value(self) -> T:
        if not self.ok:
            raise RuntimeError("the change was refused: there is no answer")
        return cast(T, self._value)


def form_action(
    form: FlaskForm,
    change: Callable[[], T],
    fields: dict[str, str | None] | None = None,
    fallback: str | None = None,
) -> Outcome[T]:
    """Run `change`; on success commit and return its answer. On a DomainError roll back and
    put its message beside the field it names (`fields` maps the service's field names to the
    form's; `fallback` takes a message that names none), so the page shows it again."""
    try:
        value = change()
    except NotAllowed:
        abort(403)
    except DomainError as error:
        failed(form, error, fields, fallback)
        return Outcome(False)
    db.session.commit()
    return Outcome(True, value)
