"""Forms for pools: finding, proposing, joining (with a card), talking, quoting and voting.

Money is typed in pounds and parsed here with `parse_pounds` into `field.pence`; the services
check the rules that need the pool (the cap, the members) and the view puts their messages
beside the fields. Forms never query the database: the views set choices.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from marketplace.carers.acting import for_whom_field
from marketplace.money import NotMoney, parse_pounds
from marketplace.pools.models import MAX_MESSAGE, PayBy
from marketplace.pools.quotes import MAX_TERMS
from marketplace.pools.services import MAX_DESCRIPTION, MAX_TITLE
from marketplace.web.forms import DayMonthYearField, WholeNumberField, int_or_zero

PAY_BY_LABELS = {
    PayBy.CARD.value: "By card",
    PayBy.MANAGED_ACCOUNT.value: "From my managed account (we send an invoice)",
    PayBy.COUNCIL_ARRANGED.value: "The council pays (we send the council an invoice)",
}
# How long a vote stays open; the view adds each choice's closing time to its label. The
# shortest is the 48 hours every vote must last (quotes.MIN_VOTE_WINDOW).
VOTE_DAYS = {"2": "2 days", "3": "3 days", "7": "1 week", "14": "2 weeks"}


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


class PoundsField(StringField):
    """An amount in pounds ("25" or "£25.50"); the pence are in `.pence` once validated."""

    def __init__(self, *args: Any, missing: str, **kwargs: Any) -> None:
        kwargs.setdefault("widget", GovTextInput())
        super().__init__(*args, **kwargs)
        self.missing = missing
        self.pence: int | None = None

    def pre_validate(self, form: Any) -> None:
        text = (self.data or "").strip()
        if not text:
            raise ValidationError(self.missing)
        try:
            self.pence = parse_pounds(text)
        except NotMoney as error:
            raise ValidationError("Enter an amount in pounds, like 25 or 25.50") from error


class SearchForm(FlaskForm):
    """The GET search of open pools (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    council = SelectField("Council", widget=GovSelect(), coerce=_int_or_none, choices=[])
    kind = SelectField("Kind of service", widget=GovSelect(), coerce=_int_or_none, choices=[])
    q = StringField("Words", widget=GovTextInput(), validators=[Optional(), Length(max=100)])
    submit = SubmitField("Search", widget=GovSubmitInput())


class ProposeForm(FlaskForm):
    for_whom = for_whom_field()
    title = StringField(
        "What service is the pool for?",
        widget=GovTextInput(),
        description="A short name, like: Evening art group for people who hear voices.",
        validators=[
            DataRequired(message="Say what service the pool is for"),
            Length(max=MAX_TITLE, message=f"The name must be {MAX_TITLE} characters or fewer"),
        ],
    )
    description = TextAreaField(
        "What is it, and why do you want it?",
        widget=GovCharacterCount(),
        validators=[
            DataRequired(message="Say what the service is and why you want it"),
            Length(max=MAX_DESCRIPTION, message=f"Keep this to {MAX_DESCRIPTION:,} characters"),
        ],
    )
    council_id = SelectField(
        "Council area",
        widget=GovSelect(),
        coerce=int_or_zero,
        choices=[],
        description="The council whose personal budgets and direct payments will pay for it.",
        validators=[InputRequired(message="Choose the council area")],
        validate_choice=False,  # the service checks it
    )
    area = StringField(
        "Where? First part of the postcode (optional)",
        widget=GovTextInput(),
        description="Like LS6. Leave it blank if it happens online.",
        validators=[Optional(), Length(max=8, message="Enter the first part of a postcode")],
    )
    frequency = StringField(
        "How often, and for how long each time?",
        widget=GovTextInput(),
        description="For example, weekly, 2 hours.",
        validators=[DataRequired(message="Say how often, like weekly, 2 hours")],
    )
    category_id = SelectField(
        "Kind of service (optional)",
        widget=GovSelect(),
        coerce=_int_or_none,
        choices=[],
        validate_choice=False,
    )
    min_members = WholeNumberField(
        "Fewest members it needs",
        description="At least 2. Nobody pays anything unless this many join.",
        not_a_number="Enter the fewest members as a number, like 3",
    )
    max_members = WholeNumberField(
        "Most members it can take",
        description="Anyone beyond this joins a waiting list.",
        not_a_number="Enter the most members as a number, like 8",
    )
    cap_pence = PoundsField(
        "The most each member will pay a month, in pounds",
        description="For example, 40. Quotes above this for everyone cannot win.",
        missing="Enter the most each member will pay a month",
    )
    months = WholeNumberField(
        "For how many months?",
        description="Between 1 and 24.",
        not_a_number="Enter the number of months, like 6",
    )
    deadline = DayMonthYearField(
        "Deadline to reach the fewest members",
        description="For example, 27 3 2026. If not enough people have joined by then, the "
        "pool ends and nobody pays.",
        missing="Enter the deadline as a day, month and year",
    )
    listing_id = HiddenField()
    submit = SubmitField("Send the proposal", widget=GovSubmitInput())


class JoinForm(FlaskForm):
    for_whom = for_whom_field()
    max_pence = PoundsField(
        "The most you will pay a month, in pounds",
        missing="Enter the most you will pay a month",
    )
    pay_by = RadioField(
        "How will you pay?",
        widget=GovRadioInput(),
        choices=[SelectChoice(k, v) for k, v in PAY_BY_LABELS.items()],
        validators=[InputRequired(message="Choose how you will pay")],
        invalid_choice_message="Choose how you will pay",
    )
    invoice_to = StringField(
        "Who should the invoice go to? (not for card)",
        widget=GovTextInput(),
        description="The name of your managed account holder, or your council's team.",
        validators=[Optional(), Length(max=200, message="Keep this to 200 characters")],
    )
    invoice_email = StringField(
        "Their email address for invoices (not for card)",
        widget=GovTextInput(),
        description="We email each invoice there on the day it is raised.",
        validators=[Optional(), Length(max=254, message="Keep this to 254 characters")],
    )
    invoice_reference = StringField(
        "Their reference for you, if you have one (optional)",
        widget=GovTextInput(),
        description="For example your client or account number. It is printed on each invoice.",
        validators=[Optional(), Length(max=60, message="Keep this to 60 characters")],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class MessageForm(FlaskForm):
    body = TextAreaField(
        "Your message",
        widget=GovTextArea(),
        description="Everyone who can see the pool can read it.",
        validators=[
            DataRequired(message="Enter your message"),
            Length(max=MAX_MESSAGE, message=f"Keep your message to {MAX_MESSAGE:,} characters"),
        ],
    )
    submit = SubmitField("Post message", widget=GovSubmitInput())


class QuoteForm(FlaskForm):
    start_date = DayMonthYearField(
        "When could you start?",
        description="For example, 1 5 2026.",
        missing="Enter the start date as a day, month and year",
    )
    total = PoundsField(
        "The price for the whole group, per month, in pounds",
        description="Each member's share is this divided by the number of members, rounded up "
        "to the penny.",
        missing="Enter the price for the whole group a month",
    )
    terms = TextAreaField(
        "Your terms (optional)",
        widget=GovCharacterCount(),
        description="For example, notice periods and what happens if a session is missed.",
        validators=[Optional(), Length(max=MAX_TERMS, message="Keep the terms shorter")],
    )
    submit = SubmitField("Send quote", widget=GovSubmitInput())


class VoteForm(FlaskForm):
    quote = RadioField(
        "Which quote do you choose?",
        widget=GovRadioInput(),
        choices=[],
        validators=[InputRequired(message="Choose one of the quotes")],
        invalid_choice_message="Choose one of the quotes",
    )
    submit = SubmitField("Vote", widget=GovSubmitInput())


class OpenVoteForm(FlaskForm):
    days = RadioField(
        "How long the vote stays open",
        widget=GovRadioInput(),
        choices=[SelectChoice(value, label) for value, label in VOTE_DAYS.items()],
        default="7",
        validators=[InputRequired(message="Choose when the vote closes")],
        invalid_choice_message="Choose when the vote closes",
    )
    submit = SubmitField("Open the vote", widget=GovSubmitInput())


class CancelForm(FlaskForm):
    reason = TextAreaField(
        "Why is the pool being cancelled?",
        widget=GovCharacterCount(),
        description="Everyone who can see the pool reads this on its page. It is not emailed.",
        validators=[
            DataRequired(message="Say why the pool is cancelled: its members will read this"),
            Length(max=1000, message="Keep the reason to 1,000 characters"),
        ],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class ConfirmCancelForm(FlaskForm):
    # The reason checked on the previous page; checked again by the service.
    reason = HiddenField()
    submit = SubmitField("Cancel the pool", widget=GovSubmitInput())


class RaiseMaximumForm(FlaskForm):
    max_pence = PoundsField(
        "The most you will pay a month from now on, in pounds",
        missing="Enter the most you will pay a month",
        render_kw={"inputmode": "decimal"},
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class ConfirmMaximumForm(FlaskForm):
    # The amount checked on the previous page, in pence; checked again by the service.
    max_pence = HiddenField()


class InvoicePaymentForm(FlaskForm):
    """ULO staff or an admin record money received against an invoice (part or all of it)."""

    amount = PoundsField("Amount received, in pounds", missing="Enter the amount received")
    received_on = DayMonthYearField(
        "Date it was received",
        description="For example, 27 11 2026.",
        missing="Enter the date it was received as a day, month and year",
    )
    reference = StringField(
        "Payment reference",
        widget=GovTextInput(),
        description="The reference on the bank statement or remittance advice.",
        validators=[
            DataRequired(message="Enter the payment reference"),
            Length(max=60, message="Keep the reference to 60 characters"),
        ],
    )
    submit = SubmitField("Record this payment", widget=GovSubmitInput())
