"""Forms for registering, signing in and resetting a password."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovPasswordInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import EmailField, PasswordField, RadioField, SelectChoice, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length

from marketplace.auth.models import UsageIntent
from marketplace.web.forms import KeptPasswordInput

EMAIL_REQUIRED = "Enter your email address"
EMAIL_FORMAT = "Enter an email address in the correct format, like name@example.com"

USAGE_CHOICES = [
    SelectChoice(UsageIntent.HOLDER.value, "I have a personal budget or direct payment"),
    SelectChoice(
        UsageIntent.CARER.value, "I help someone who has one (I am a carer or representative)"
    ),
    SelectChoice(UsageIntent.PROVIDER.value, "I work for a provider of support or services"),
    SelectChoice(UsageIntent.ULO.value, "I work for a user-led organisation"),
]


def email_field(label: str = "Email address") -> EmailField:
    """An email field with the plain-English messages every form uses."""
    return EmailField(
        label,
        widget=GovTextInput(),
        validators=[
            DataRequired(message=EMAIL_REQUIRED),
            Email(message=EMAIL_FORMAT, check_deliverability=False),
            Length(max=254, message="Email address must be 254 characters or fewer"),
        ],
    )


def display_name_field() -> StringField:
    """The name other people see."""
    return StringField(
        "Display name",
        widget=GovTextInput(),
        description="This is the only name other people on the site will see. "
        "It does not have to be your real name.",
        validators=[
            DataRequired(message="Enter a display name"),
            Length(min=2, max=60, message="Display name must be between 2 and 60 characters"),
        ],
    )


class RegisterForm(FlaskForm):
    display_name = display_name_field()
    email = email_field()
    password = PasswordField(
        "Create a password",
        widget=KeptPasswordInput(),
        description="At least 10 characters. A few words together are easy to remember.",
        validators=[InputRequired(message="Enter a password")],
    )
    confirm_password = PasswordField(
        "Type your password again",
        widget=GovPasswordInput(),
        validators=[
            InputRequired(message="Type your password again"),
            EqualTo("password", message="The passwords do not match"),
        ],
    )
    usage = RadioField(
        "How will you use the site?",
        widget=GovRadioInput(),
        choices=USAGE_CHOICES,
        validators=[InputRequired(message="Select how you will use the site")],
    )
    submit = SubmitField("Create account", widget=GovSubmitInput())


class SignInForm(FlaskForm):
    email = email_field()
    password = PasswordField(
        "Password",
        widget=GovPasswordInput(),
        validators=[InputRequired(message="Enter your password")],
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class CodeForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app",
        widget=GovTextInput(),
        description="The 6-digit code shown in the app on your phone",
        validators=[DataRequired(message="Enter the 6-digit code")],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class ForgottenPasswordForm(FlaskForm):
    email = email_field()
    submit = SubmitField("Send me a link", widget=GovSubmitInput())


class SignInLinkForm(FlaskForm):
    email = email_field()
    submit = SubmitField("Email me a sign-in link", widget=GovSubmitInput())


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
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
            EqualTo("password", message="The passwords do not match"),
        ],
    )
    submit = SubmitField("Save new password", widget=GovSubmitInput())


class SignOutForm(FlaskForm):
    """Sign-out is a POST with CSRF so that another site cannot sign people out."""

    submit = SubmitField("Sign out", widget=GovSubmitInput())
