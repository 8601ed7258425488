"""Forms for taking a break: how long, then confirm having seen what will happen."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput
from wtforms import HiddenField, RadioField, SelectChoice, SubmitField
from wtforms.validators import InputRequired

from marketplace.wellbeing.breaks import LENGTH_LABELS

CHOOSE_LENGTH = "Choose how long your break will be"
KEEP, LEND = "keep", "lend"


class BreakForm(FlaskForm):
    length = RadioField(
        "How long would you like a break for?",
        widget=GovRadioInput(),
        choices=[SelectChoice(length.value, label) for length, label in LENGTH_LABELS.items()],
        validators=[InputRequired(message=CHOOSE_LENGTH)],
        invalid_choice_message=CHOOSE_LENGTH,
    )
    places = RadioField(
        "While you are away, what should happen to your place in a running pool?",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(KEEP, "Keep it, and pay my share each month"),
            SelectChoice(
                LEND,
                "Offer it to the first person waiting for those months (I pay nothing then, "
                "and have it back when I return)",
            ),
        ],
        default=KEEP,
        validate_choice=False,
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class ConfirmBreakForm(FlaskForm):
    length = HiddenField()
    places = HiddenField()
    submit = SubmitField("Start my break", widget=GovSubmitInput())
