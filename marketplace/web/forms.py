"""Shared form helpers: a service's error put back beside the right field, and fields whose
errors are in plain English."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovTextInput
from wtforms import IntegerField
from wtforms.validators import InputRequired

from marketplace.errors import DomainError


def add_error(form: FlaskForm, error: DomainError, fallback_field: str | None = None) -> None:
    """Attach a domain error to its field (or the form-wide list when it names none)."""
    name = error.field or fallback_field
    field = getattr(form, name, None) if name else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def failed(
    form: FlaskForm,
    error: DomainError,
    fields: dict[str, str | None] | None = None,
    fallback: str | None = None,
) -> None:
    """A service said no: undo what it half did (nothing already saved is lost) and put its
    message beside the field it names (`fields` maps the service's names to the form's)."""
    from marketplace.extensions import db

    db.session.rollback()
    name = error.field
    if name and fields is not None:
        name = fields.get(name, name)
    add_error(form, DomainError(error.message, name), fallback_field=fallback)


def int_or_zero(value: object) -> int:
    """A select's value as an int, 0 when it is blank or not a number (InputRequired then
    gives the plain-English message instead of WTForms' "Invalid Choice")."""
    try:
        return int(str(value))
    except ValueError:
        return 0


class WholeNumberField(IntegerField):
    """An integer field whose "not a number" error is in plain English."""

    def __init__(self, *args: Any, not_a_number: str, **kwargs: Any) -> None:
        kwargs.setdefault("widget", GovTextInput())
        kwargs.setdefault("validators", [InputRequired(message=not_a_number)])
        super().__init__(*args, **kwargs)
        self.not_a_number = not_a_number

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(self.not_a_number) from error


class ConfirmForm(FlaskForm):
    """A bare POST with CSRF, for buttons like "Revoke" and "Accept"."""
