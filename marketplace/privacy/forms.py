"""The form that confirms deleting an account."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovSubmitInput
from wtforms import PasswordField, SubmitField
from wtforms.validators import InputRequired


class DeleteAccountForm(FlaskForm):
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
