"""Forms for taking a break: how long, then confirm having seen what will happen."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput
from wtforms import HiddenField, RadioField, SelectChoice, SubmitField
from wtforms.validators import InputRequired

from marketplace.wellbeing.breaks import LENGTH_LABELS

CHOOSE_LENGTH = "Choose how long your break will be"


class BreakForm(FlaskForm):
    length = RadioField(
        "How long would you like a break for?",
        widget=GovRadioInput(),
        choices=[SelectChoice(length.value, label) for length, label in LENGTH_LABELS.items()],
        validators=[InputRequired(message=CHOOSE_LENGTH)],
        invalid_choice_message=CHOOSE_LENGTH,
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class ConfirmBreakForm(FlaskForm):
    length = HiddenField()
    submit = SubmitField("Start my break", widget=GovSubmitInput())
