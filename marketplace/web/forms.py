"""Shared form helpers: putting a service's error back beside the right field."""

from __future__ import annotations

from flask_wtf import FlaskForm

from marketplace.errors import DomainError


def add_error(form: FlaskForm, error: DomainError, fallback_field: str | None = None) -> None:
    """Attach a domain error to its field (or the form-wide list when it names none)."""
    name = error.field or fallback_field
    field = getattr(form, name, None) if name else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
