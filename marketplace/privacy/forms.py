"""The form that confirms deleting an account."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovRadioInput, GovSubmitInput
from wtforms import PasswordField, RadioField, SelectChoice, SubmitField
from wtforms.validators import InputRequired

KEEP = "keep"
REMOVE = "remove"


class DeleteAccountForm(FlaskForm):
    contributions = RadioField(
        "What should happen to your reviews and messages?",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(
                KEEP,
                'Keep them, shown as written by "Former member", with my name taken out of '
                "providers' replies",
            ),
            SelectChoice(REMOVE, "Delete my reviews and my messages to providers"),
        ],
        validators=[
            InputRequired(message="Choose what should happen to your reviews and messages")
        ],
    )
    password = PasswordField(
        "Enter your password to confirm",
        widget=GovPasswordInput(),
        validators=[InputRequired(message="Enter your password to confirm")],
    )
    submit = SubmitField(
        "Delete my account",
        widget=GovSubmitInput(),
        render_kw={"params": {"classes": "govuk-button--warning"}},
    )
