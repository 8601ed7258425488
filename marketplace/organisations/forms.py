"""Forms for registering an organisation and deciding on staff."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    EmailField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import URL, DataRequired, Email, InputRequired, Length, Optional

from marketplace.auth.forms import EMAIL_FORMAT
from marketplace.organisations.models import OrganisationKind


class OrganisationForm(FlaskForm):
    kind = RadioField(
        "What kind of organisation is it?",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(OrganisationKind.PROVIDER.value, "A provider of support or services"),
            SelectChoice(
                OrganisationKind.ULO.value,
                "A user-led organisation (run by people who use services)",
            ),
        ],
        validators=[InputRequired(message="Select what kind of organisation it is")],
    )
    name = StringField(
        "Organisation name",
        widget=GovTextInput(),
        validators=[
            DataRequired(message="Enter the organisation's name"),
            Length(max=120, message="Name must be 120 characters or fewer"),
        ],
    )
    description = TextAreaField(
        "What does it do?",
        widget=GovTextArea(),
        description="A few sentences in plain English. People will see this on your page.",
        validators=[
            DataRequired(message="Say what the organisation does"),
            Length(max=3000, message="Keep this to 3000 characters or fewer"),
        ],
    )
    council_ids = SelectMultipleField(
        "Which council areas do you work in?",
        widget=GovCheckboxesInput(),
        coerce=int,
        validators=[DataRequired(message="Select at least one council area")],
    )
    website = URLField(
        "Website (optional)",
        widget=GovTextInput(),
        validators=[
            Optional(),
            URL(message="Enter a web address like https://www.example.org"),
            Length(max=255),
        ],
    )
    public_email = EmailField(
        "Contact email for the public (optional)",
        widget=GovTextInput(),
        validators=[Optional(), Email(message=EMAIL_FORMAT, check_deliverability=False)],
    )
    public_phone = StringField(
        "Contact phone number for the public (optional)",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=40, message="Phone number is too long")],
    )
    postal_address = TextAreaField(
        "Postal address (optional)",
        widget=GovTextArea(),
        description="Shown on members' statements and invoices, which councils ask for.",
        validators=[Optional(), Length(max=500, message="Keep the address to 500 characters")],
    )
    submit = SubmitField("Send for approval", widget=GovSubmitInput())


class DecisionForm(FlaskForm):
    """Approve or reject, with a reason when rejecting."""

    decision = RadioField(
        "Decision",
        widget=GovRadioInput(),
        choices=[SelectChoice("approve", "Approve"), SelectChoice("reject", "Reject")],
        validators=[InputRequired(message="Select approve or reject")],
    )
    reason = TextAreaField(
        "Reason (needed if you reject)",
        widget=GovTextArea(),
        validators=[Optional(), Length(max=2000, message="Keep the reason to 2000 characters")],
    )
    submit = SubmitField("Save decision", widget=GovSubmitInput())
