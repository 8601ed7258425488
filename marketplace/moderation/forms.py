"""The moderator's decision form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    IntegerField,
    RadioField,
    SelectChoice,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from marketplace.moderation.models import Decision
from marketplace.moderation.reports import MAX_DETAILS, REASON_LABELS


class DecideForm(FlaskForm):
    decision = RadioField(
        "Your decision",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(Decision.APPROVE.value, "Approve and publish"),
            SelectChoice(Decision.REJECT.value, "Send back with a reason"),
        ],
        validators=[InputRequired(message="Choose a decision")],
    )
    reason = TextAreaField(
        "Reason (the person affected will see this)",
        widget=GovTextArea(),
        description="Needed when you send it back. Say what to change, kindly and clearly.",
        validators=[Length(max=2000, message="Keep the reason to 2000 characters")],
    )
    also = RadioField(
        "And the person who wrote it",
        widget=GovRadioInput(),
        description="Optional: for example remove the message and suspend its writer. Each "
        "decision is told to them on its own, and each can be appealed.",
        choices=[],
        validators=[Optional()],
    )
    also_reason = TextAreaField(
        "Reason for what happens to the person (they will see this)",
        widget=GovTextArea(),
        validators=[Length(max=2000, message="Keep the reason to 2000 characters")],
    )
    days = IntegerField(
        "For how many days?",
        widget=GovTextInput(),
        description="Only for a suspension or silence: from 1 to 90 days.",
        validators=[
            Optional(),
            NumberRange(min=1, max=90, message="Enter a number of days from 1 to 90"),
        ],
    )
    submit = SubmitField("Save decision", widget=GovSubmitInput())


class AppealForm(FlaskForm):
    text = TextAreaField(
        "Why should the decision change?",
        widget=GovTextArea(),
        description="A different moderator will read this. You can appeal once.",
        validators=[
            InputRequired(message="Tell us why the decision should change"),
            Length(max=2000, message="Tell us in 2,000 characters or fewer"),
        ],
    )
    submit = SubmitField("Send appeal", widget=GovSubmitInput())


class ReportForm(FlaskForm):
    """ "Report this": a reason from a short list, and words if they help."""

    reason = RadioField(
        "Why are you reporting this?",
        widget=GovRadioInput(),
        choices=[SelectChoice(value, label) for value, label in REASON_LABELS.items()],
        description=(
            "Choose a safeguarding option if someone may be at risk of harm, or money is being "
            "misused, or illegal content if it breaks the law. A moderator is told at once and "
            "looks at those first."
        ),
        validators=[InputRequired(message="Choose why you are reporting this")],
    )
    details = TextAreaField(
        "Tell us more (optional)",
        widget=GovTextArea(),
        description="Do not include anyone's health details unless it helps us keep them safe.",
        validators=[
            Length(max=MAX_DETAILS, message=f"Tell us in {MAX_DETAILS:,} characters or fewer")
        ],
    )
    submit = SubmitField("Send report", widget=GovSubmitInput())


class TakeOverForm(FlaskForm):
    """Taking an item from the moderator who claimed it: a reason, kept in the audit log."""

    reason = TextAreaField(
        "Why are you taking this over?",
        widget=GovTextArea(),
        description="The moderator dealing with it now is told that you have taken it over. "
        "Your reason is kept in the audit log and shown on this page.",
        validators=[
            InputRequired(message="Say why you are taking this over"),
            Length(max=500, message="Keep the reason to 500 characters"),
        ],
    )
    submit = SubmitField("Take this over", widget=GovSubmitInput())


class SafeguardingContactForm(FlaskForm):
    """A council's adult safeguarding team, for moderators in that area."""

    phone = StringField(
        "Phone number",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter a phone number, like 0114 273 4908")],
    )
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter an email address, like name@example.org")],
    )
    hours = StringField(
        "When the team can be reached",
        widget=GovTextInput(),
        description="For example: Monday to Friday, 8:30am to 5pm.",
        validators=[InputRequired(message="Enter when the team can be reached")],
    )
    out_of_hours = StringField(
        "Out of hours (optional)",
        widget=GovTextInput(),
        description="Who to call at other times, for example the emergency duty team.",
        validators=[Optional(), Length(max=255, message="Keep it to 255 characters")],
    )
    submit = SubmitField("Save contact", widget=GovSubmitInput())
