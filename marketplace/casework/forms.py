"""Forms: a rights request, a complaint, and an admin's answer."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import RadioField, SelectChoice, StringField, SubmitField, TextAreaField

from marketplace.casework.services import COMPLAINT_LABELS, RIGHTS_LABELS


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


# Validation is the service's (DomainError beside the field), so the rules live in one place.
class RightsRequestForm(FlaskForm):
    kind = RadioField(
        "What would you like us to do?",
        widget=GovRadioInput(),
        choices=_choices(RIGHTS_LABELS),
        validate_choice=False,
    )
    details = TextAreaField(
        "Tell us more",
        widget=GovTextArea(),
        description="For example, what is wrong and what it should say. Do not include health "
        "details unless they are needed.",
    )
    submit = SubmitField("Send request", widget=GovSubmitInput())


class ComplaintForm(FlaskForm):
    kind = RadioField(
        "What is your complaint about?",
        widget=GovRadioInput(),
        choices=_choices(COMPLAINT_LABELS),
        validate_choice=False,
    )
    details = TextAreaField(
        "What happened, and what would put it right?",
        widget=GovTextArea(),
    )
    contact_email = StringField(
        "Email address for our reply",
        widget=GovTextInput(),
        description="Only used to answer your complaint.",
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )
    submit = SubmitField("Send complaint", widget=GovSubmitInput())


class AnswerForm(FlaskForm):
    response = TextAreaField("Your answer (the person will be emailed this)", widget=GovTextArea())
    submit = SubmitField("Send answer and close", widget=GovSubmitInput())
