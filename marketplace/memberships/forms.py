"""Forms for memberships: a ULO's offer, joining, switching, logging time, help requests and
clearances. Money is typed in pounds (`PoundsField` → `.pence`); time in hours and minutes
(`minutes_of` → integer minutes). Forms never query the database: the views set choices and the
services check the rules, whose messages the views put beside the fields.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxesInput,
    GovCheckboxInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from marketplace.carers.acting import for_whom_field
from marketplace.memberships.models import MAX_PLACE, MAX_WHAT, Basis, GivingKind
from marketplace.memberships.reciprocity import MAX_DESCRIPTION
from marketplace.moderation.conversation_rules import MAX_MESSAGE
from marketplace.money import NotMoney, parse_pounds
from marketplace.web.forms import CardForm, DayMonthYearField

KIND_LABELS = {
    GivingKind.BUDDY.value: "Being a budget buddy",
    GivingKind.OCCASIONAL_PA.value: "Occasional PA for another budget holder",
    GivingKind.EVENTS.value: "Helping at events",
    GivingKind.PEER_GROUP.value: "Running a peer group",
    GivingKind.OTHER.value: "Something else",
}
BASIS_LABELS = {
    Basis.FEE.value: "Pay a monthly fee",
    Basis.RECIPROCITY.value: "Give time back each month",
}
FOR_ULO = "ulo"
REQUEST_CHOICE = "request-"  # + the help request id: the person who asked


def kind_choices(kinds: list[str] | tuple[str, ...] | None = None) -> list[SelectChoice]:
    """Radio or checkbox choices for kinds of giving back (all of them, or these)."""
    wanted = kinds if kinds else [k.value for k in GivingKind]
    return [SelectChoice(k, KIND_LABELS[k]) for k in KIND_LABELS if k in wanted]


class OptionalPoundsField(StringField):
    """An amount in pounds that may be left empty; the pence are in `.pence` (None if empty)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", GovTextInput())
        super().__init__(*args, **kwargs)
        self.pence: int | None = None

    def pre_validate(self, form: Any) -> None:
        text = (self.data or "").strip()
        self.pence = None
        if not text:
            return
        try:
            self.pence = parse_pounds(text)
        except NotMoney as error:
            raise ValidationError("Enter an amount in pounds, like 7 or 7.50") from error


class Count(IntegerField):
    """A whole number (hours or minutes) that may be left empty; plain-English errors."""

    def __init__(self, *args: Any, not_a_number: str, **kwargs: Any) -> None:
        kwargs.setdefault("widget", GovTextInput())
        kwargs.setdefault("validators", [Optional()])
        super().__init__(*args, **kwargs)
        self.not_a_number = not_a_number

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            super().process_formdata([str(v).strip() for v in valuelist])
        except ValueError as error:
            raise ValueError(self.not_a_number) from error


def minutes_of(hours: Count, minutes: Count) -> int:
    """Hours and minutes fields as integer minutes (0 if both are empty)."""
    return (hours.data or 0) * 60 + (minutes.data or 0)


def _minutes_in_range(form: Any, field: Count) -> None:
    if field.data is not None and not 0 <= field.data <= 59:
        raise ValidationError("Minutes must be between 0 and 59")


class OfferForm(FlaskForm):
    fee_pence = OptionalPoundsField(
        "Monthly fee, in pounds (optional)",
        description="For example, 7. Leave it empty if you do not offer a fee membership.",
    )
    reciprocity_hours = Count(
        "Hours to give back each month (optional)",
        description="For example, 4. Leave it empty if you do not offer giving time back.",
        not_a_number="Enter the hours as a whole number, like 4",
    )
    reciprocity_kinds = SelectMultipleField(
        "Kinds of giving back you accept",
        widget=GovCheckboxesInput(),
        choices=kind_choices(),
        description="Only needed if you offer giving time back. Select all that apply.",
        validators=[Optional()],
    )
    pause_fee_on_break = BooleanField(
        "Take no fee while a member is taking a break",
        widget=GovCheckboxInput(),
        description=(
            "Members can take a break from everything on the site when they are unwell. "
            "If you tick this, their fee stops for the months they are away and starts again "
            "when they come back."
        ),
        default=False,
    )
    submit = SubmitField("Save the offer", widget=GovSubmitInput())


class JoinForm(FlaskForm):
    for_whom = for_whom_field()
    basis = RadioField(
        "How would you like to be a member?",
        widget=GovRadioInput(),
        choices=[],
        validators=[InputRequired(message="Choose to pay a fee or to give time back")],
        invalid_choice_message="Choose to pay a fee or to give time back",
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class MembershipCardForm(CardForm):
    """The card for a fee membership (never stored or shown again by us)."""

    submit = SubmitField("Save card and join", widget=GovSubmitInput())


class SwitchCardForm(CardForm):
    """A card for switching to the fee (optional when one is saved already)."""

    number = StringField("Card number", widget=GovTextInput(), validators=[Optional()])
    exp_month = Count("Expiry month", not_a_number="Enter the expiry month as a number, like 12")
    exp_year = Count("Expiry year", not_a_number="Enter the expiry year as a number, like 2030")
    cvc = StringField("Security code", widget=GovTextInput(), validators=[Optional()])
    submit = SubmitField("Switch from next month", widget=GovSubmitInput())


class LogTimeForm(FlaskForm):
    for_whom = for_whom_field()
    kind = RadioField(
        "What kind of help did you give?",
        widget=GovRadioInput(),
        choices=[],
        validators=[InputRequired(message="Choose what kind of help you gave")],
        invalid_choice_message="Choose what kind of help you gave",
    )
    # Choices set by the view: the organisation, and each person the member was matched with
    # through a help request (never an email address to type: see reciprocity.matches_of).
    recipient = RadioField(
        "Who did you help?",
        widget=GovRadioInput(),
        choices=[],
        default=FOR_ULO,
        validators=[InputRequired(message="Choose who you helped")],
        invalid_choice_message="Choose the person you helped from the list",
    )
    given_on = DayMonthYearField(
        "When did you give it?",
        description="For example, 3 11 2026. This month or last month.",
        missing="Enter the date as a day, month and year",
    )
    hours = Count("Hours", not_a_number="Enter the hours as a whole number, like 2")
    minutes = Count(
        "Minutes",
        not_a_number="Enter the minutes as a whole number, like 30",
        validators=[Optional(), _minutes_in_range],
    )
    description = TextAreaField(
        "What did you do? (optional)",
        widget=GovCharacterCount(),
        validators=[
            Optional(),
            Length(max=MAX_DESCRIPTION, message=f"Keep this to {MAX_DESCRIPTION:,} characters"),
        ],
    )
    submit = SubmitField("Log the time", widget=GovSubmitInput())


def recipient_choices(matches: list[tuple[int, str]]) -> list[SelectChoice]:
    """The organisation, then each (help request id, label) the member was matched through."""
    return [
        SelectChoice(FOR_ULO, "The organisation itself (staff will confirm it)"),
        *(SelectChoice(f"{REQUEST_CHOICE}{rid}", label) for rid, label in matches),
    ]


def request_of_choice(value: str | None) -> int | None:
    """The help request id a recipient choice names (None for the organisation)."""
    if value and value.startswith(REQUEST_CHOICE) and value[len(REQUEST_CHOICE) :].isdigit():
        return int(value[len(REQUEST_CHOICE) :])
    return None


class HelpMessageForm(FlaskForm):
    body = TextAreaField(
        "Your message",
        widget=GovCharacterCount(),
        validators=[
            InputRequired(message="Enter your message"),
            Length(
                max=MAX_MESSAGE,
                message=f"Your message must be {MAX_MESSAGE:,} characters or fewer",
            ),
        ],
    )
    submit = SubmitField("Send message", widget=GovSubmitInput())


class HelpRequestForm(FlaskForm):
    for_whom = for_whom_field()
    what = TextAreaField(
        "What do you need help with?",
        widget=GovCharacterCount(),
        description="For example, someone to come with me to a gym induction.",
        validators=[
            DataRequired(message="Say what you need help with"),
            Length(max=MAX_WHAT, message=f"Keep this to {MAX_WHAT:,} characters or fewer"),
        ],
    )
    kind = RadioField(
        "What kind of help is it?",
        widget=GovRadioInput(),
        choices=kind_choices(),
        validators=[InputRequired(message="Choose what kind of help you need")],
        invalid_choice_message="Choose what kind of help you need",
    )
    needed_on = DayMonthYearField(
        "When do you need it?",
        description="For example, 27 11 2026.",
        missing="Enter the date as a day, month and year",
    )
    place = StringField(
        "Where? (optional)",
        widget=GovTextInput(),
        description="A town or the first part of a postcode is enough.",
        validators=[Optional(), Length(max=MAX_PLACE, message="Keep the place shorter")],
    )
    submit = SubmitField("Ask for help", widget=GovSubmitInput())


class CompleteForm(FlaskForm):
    given_on = DayMonthYearField(
        "When did they help?",
        description="For example, 3 11 2026.",
        missing="Enter the date as a day, month and year",
    )
    hours = Count("Hours", not_a_number="Enter the hours as a whole number, like 2")
    minutes = Count(
        "Minutes",
        not_a_number="Enter the minutes as a whole number, like 30",
        validators=[Optional(), _minutes_in_range],
    )
    submit = SubmitField("Confirm the help given", widget=GovSubmitInput())


class ClearanceForm(FlaskForm):
    kind = RadioField(
        "Kind of task",
        widget=GovRadioInput(),
        choices=kind_choices(),
        validators=[InputRequired(message="Choose a kind of task")],
        invalid_choice_message="Choose a kind of task",
    )
    cleared = RadioField(
        "Cleared?",
        widget=GovRadioInput(),
        choices=[SelectChoice("yes", "Cleared"), SelectChoice("no", "Not cleared (revoke)")],
        default="yes",
        validators=[InputRequired(message="Choose cleared or not")],
        invalid_choice_message="Choose cleared or not",
    )
    submit = SubmitField("Save clearance", widget=GovSubmitInput())
