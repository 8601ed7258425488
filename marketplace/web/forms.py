"""Shared forms and form helpers: a service's error put back beside the right field, fields
whose errors are in plain English, GOV.UK dates and checkboxes, the one-button confirmation
and the card form (every package that takes a card uses this one)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovDateInput,
    GovPasswordInput,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import (
    DateField,
    Field,
    IntegerField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired

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


class KeptPasswordInput(GovPasswordInput):
    """A new password box that keeps what was typed when the page comes back with an error
    elsewhere (usually "The passwords do not match"): only a box that is wrong is cleared, so a
    mismatch means typing the confirmation again, not both."""

    def map_gov_params(self, field: Field, **kwargs: Any) -> dict[str, Any]:
        params: dict[str, Any] = super().map_gov_params(field, **kwargs)
        if field.data and not field.errors:
            params["value"] = field.data
        return params


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


class DayMonthYearField(DateField):
    """A GOV.UK date input (day, month and year boxes sharing one name)."""

    def __init__(self, *args: Any, missing: str, **kwargs: Any) -> None:
        super().__init__(*args, format="%d %m %Y", widget=GovDateInput(), **kwargs)
        self.missing = missing

    def process_formdata(self, valuelist: list[Any]) -> None:
        if len(valuelist) != 3 or not all(v.strip() for v in valuelist):
            self.raw_data = (list(valuelist) + ["", "", ""])[:3]
            self.data = None
            raise ValueError(self.missing)
        try:
            super().process_formdata([v.strip() for v in valuelist])
        except ValueError as error:
            raise ValueError("Enter a real date, like 27 3 2026") from error


def as_date(field: Field) -> date:
    """A validated date field's value (date.min, which every rule refuses, if it has none)."""
    value = field.data
    return value if isinstance(value, date) else date.min


class CardForm(FlaskForm):
    number = StringField(
        "Card number",
        widget=GovTextInput(),
        description="In this demo only Stripe test card numbers work, such as 4242 4242 4242 4242.",
        validators=[DataRequired(message="Enter your card number")],
    )
    exp_month = WholeNumberField(
        "Expiry month", not_a_number="Enter the expiry month as a number, like 12"
    )
    exp_year = WholeNumberField(
        "Expiry year", not_a_number="Enter the expiry year as a number, like 2030"
    )
    cvc = StringField(
        "Security code",
        widget=GovTextInput(),
        description="The last 3 digits on the back of the card.",
        validators=[DataRequired(message="Enter the security code")],
    )
    submit = SubmitField("Save card and join", widget=GovSubmitInput())

    def forget_card(self) -> None:
        """Never send the card number or code back to the browser."""
        for field in (self.number, self.cvc):
            field.data = ""
            field.raw_data = []


def checkboxes(
    label: str, choices: list[SelectChoice], hint: str = "", **kw: object
) -> SelectMultipleField:
    """A set of GOV.UK checkboxes."""
    return SelectMultipleField(  # type: ignore[misc]  # kw are WTForms field options
        label, widget=GovCheckboxesInput(), choices=choices, description=hint, **kw
    )
