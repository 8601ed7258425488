"""The directory search form: every state lives in the URL (GET), so it can be bookmarked."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    Field,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from marketplace.money import NotMoney, parse_pounds
from marketplace.places import postcodes

MAX_QUERY = 200
SORTS = [
    SelectChoice("relevance", "Best match"),
    SelectChoice("distance", "Nearest first"),
    SelectChoice("price", "Cheapest first"),
]
DISTANCES = [
    SelectChoice(str(m), f"{m} mile{'' if m == 1 else 's'}") for m in (1, 3, 5, 10, 25, 50)
]


def _money(_form: FlaskForm, field: Field) -> None:
    if field.data and field.data.strip():
        try:
            parse_pounds(field.data)
        except NotMoney as error:
            raise ValidationError("Enter a price in pounds, like 20 or 12.50") from error


def _postcode(_form: FlaskForm, field: Field) -> None:
    if field.data and field.data.strip():
        try:
            postcodes.lookup(field.data)
        except postcodes.UnknownPostcode as error:
            raise ValidationError(str(error)) from error


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a search changes nothing; its URL must be shareable

    q = StringField(
        "Search for a service",
        widget=GovTextInput(),
        validators=[
            Length(max=MAX_QUERY, message=f"Search for {MAX_QUERY} characters or fewer"),
        ],
    )
    postcode = StringField(
        "Near a postcode (optional)",
        widget=GovTextInput(),
        validators=[
            Optional(),
            Length(max=10, message="Enter a real UK postcode, like LS1 1UR"),
            _postcode,
        ],
    )
    within = SelectField("Within", widget=GovSelect(), choices=DISTANCES, default="10")
    category = SelectMultipleField("Category", validate_choice=False)
    delivery = SelectMultipleField("How it is delivered", validate_choice=False)
    language = SelectMultipleField("Language", validate_choice=False)
    community = SelectMultipleField("Community", validate_choice=False)
    council = SelectMultipleField("Council area", validate_choice=False)
    max_price = StringField(
        "Most you want to pay (£)",
        widget=GovTextInput(),
        # A price of only spaces is no price, not an error (and must not reach parse_pounds).
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[Optional(), Length(max=10, message="Enter a price in pounds, like 20"), _money],
    )
    dp = BooleanField("Accepts direct payments", widget=GovCheckboxInput())
    sort = SelectField("Sort by", widget=GovSelect(), choices=SORTS, default="relevance")
    page = IntegerField(
        "Page",
        validators=[Optional(), NumberRange(min=1, max=10_000, message="That page does not exist")],
    )
    submit = SubmitField("Search", widget=GovSubmitInput())
