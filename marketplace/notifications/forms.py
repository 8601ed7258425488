"""Forms: how often we email you, and the one button on a one-click link's page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput
from wtforms import RadioField, SelectChoice, SubmitField
from wtforms.validators import InputRequired

from marketplace.notifications.models import Frequency

FREQUENCY_LABELS = {
    Frequency.EACH.value: "Each email as it happens",
    Frequency.WEEKLY_DIGEST.value: "One email a week with everything in it",
}


class EmailFrequencyForm(FlaskForm):
    frequency = RadioField(
        "How often should we email you?",
        widget=GovRadioInput(),
        choices=[SelectChoice(value, label) for value, label in FREQUENCY_LABELS.items()],
        description="Emails about money that is due always come at once, so nothing is missed.",
        validators=[InputRequired(message="Choose how often we email you")],
    )
    submit = SubmitField("Save", widget=GovSubmitInput())


class DoForm(FlaskForm):
    """Only the CSRF token: the action is named by the link itself."""
