"""The crisis plan form: whom to tell, what to pause, who may act, what others should know.

The lists of people are filled per request from the person's own carers, buddies and ULO
contacts; the services check the choices again, so a forged id is refused there too.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxesInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import (
    IntegerField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional

from marketplace.carers.models import SCOPE_LABELS
from marketplace.wellbeing.crisis_plan_models import DAYS_MAX, MESSAGE_MAX

PAUSE_LABELS = {
    "buddies": "My budget buddy pairings and messages",
    "emails": "Emails, except about money that is due",
}


class CrisisPlanForm(FlaskForm):
    tell = SelectMultipleField(
        "Whom should we tell when you start a break?",
        widget=GovCheckboxesInput(),
        coerce=int,
        choices=[],
        description="They get a short email saying you have started a break, and can read "
        "this plan. We never say why.",
    )
    pause = SelectMultipleField(
        "What should be paused when you start a break?",
        widget=GovCheckboxesInput(),
        choices=[SelectChoice(value, label) for value, label in PAUSE_LABELS.items()],
        description="What you tick is paused when a break starts. Anything you leave unticked "
        "carries on as usual during a break, for example if talking to your buddy helps.",
    )
    delegate = RadioField(
        "Who may act for you during a break?",
        widget=GovRadioInput(),
        choices=[],
        default="",
        description="Their permission starts when a break starts and ends when it ends, "
        "or after the number of days you choose, whichever comes first.",
    )
    delegate_email = StringField(
        "Their email address, if you chose someone else",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=254, message="Enter an email address")],
    )
    scopes = SelectMultipleField(
        "What may they do for you?",
        widget=GovCheckboxesInput(),
        choices=[SelectChoice(scope.value, label) for scope, label in SCOPE_LABELS.items()],
    )
    days = IntegerField(
        "For how many days at most?",
        widget=GovTextInput(),
        description=f"From 1 to {DAYS_MAX}.",
        validators=[
            Optional(),
            NumberRange(min=1, max=DAYS_MAX, message=f"Enter a number from 1 to {DAYS_MAX}"),
        ],
    )
    message = TextAreaField(
        "What do you want others to know? (optional)",
        widget=GovCharacterCount(),
        validators=[
            Length(
                max=MESSAGE_MAX,
                message=f"What you want others to know must be {MESSAGE_MAX:,} characters or fewer",
            )
        ],
    )
    submit = SubmitField("Save my plan", widget=GovSubmitInput())
