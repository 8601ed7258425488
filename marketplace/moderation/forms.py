"""The moderator's decision form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextArea
from wtforms import RadioField, SelectChoice, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from marketplace.moderation.models import Decision


class DecideForm(FlaskForm):
    decision = RadioField(
        "Your decision",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(Decision.APPROVE.value, "Approve and publish"),
            SelectChoice(Decision.REJECT.value, "Send back with a reason"),
        ],
        validators=[InputRequired(message="Select approve or send back")],
    )
    reason = TextAreaField(
        "Reason (the provider will see this)",
        widget=GovTextArea(),
        description="Needed when you send it back. Say what to change, kindly and clearly.",
        validators=[Length(max=2000, message="Keep the reason to 2000 characters")],
    )
    submit = SubmitField("Save decision", widget=GovSubmitInput())
