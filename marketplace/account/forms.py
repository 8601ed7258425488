"""Forms for changing your own details, password and second factor."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovPasswordInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

from marketplace.auth.forms import display_name_field, email_field
from marketplace.web.forms import KeptPasswordInput


class DetailsForm(FlaskForm):
    display_name = display_name_field()
    email = email_field()
    current_password = PasswordField(
        "Your current password (only if you change your email address)",
        widget=GovPasswordInput(),
        description="We send a link to the new address. Your email address changes when you "
        "follow it.",
        validators=[Optional()],
    )
    support_needs = TextAreaField(
        "Anything about your health or support you want to note (optional)",
        widget=GovTextArea(),
        description="Private to you. Nobody else on the site can see this. "
        "You can change or delete it at any time.",
        validators=[Optional(), Length(max=2000, message="Keep this to 2000 characters or fewer")],
    )
    submit = SubmitField("Save changes", widget=GovSubmitInput())


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        widget=GovPasswordInput(),
        validators=[InputRequired(message="Enter your current password")],
    )
    new_password = PasswordField(
        "New password",
        widget=KeptPasswordInput(),
        description="At least 10 characters.",
        validators=[InputRequired(message="Enter a new password")],
    )
    confirm_password = PasswordField(
        "Type your new password again",
        widget=GovPasswordInput(),
        validators=[
            InputRequired(message="Type your new password again"),
            EqualTo("new_password", message="The passwords do not match"),
        ],
    )
    submit = SubmitField("Change password", widget=GovSubmitInput())


class EnableTwoFactorForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app",
        widget=GovTextInput(),
        description="After adding the key, enter the 6-digit code the app shows",
        validators=[DataRequired(message="Enter the 6-digit code")],
    )
    submit = SubmitField("Turn on", widget=GovSubmitInput())


class DisableTwoFactorForm(FlaskForm):
    password = PasswordField(
        "Your password",
        widget=GovPasswordInput(),
        validators=[InputRequired(message="Enter your password")],
    )
    submit = SubmitField("Turn off the second factor", widget=GovSubmitInput())
