"""Forms for inviting a carer and choosing what they may do."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxesInput, GovSubmitInput
from wtforms import SelectChoice, SelectMultipleField, SubmitField
from wtforms.validators import DataRequired

from marketplace.auth.forms import email_field
from marketplace.carers.models import SCOPE_LABELS

# ConfirmForm moved to the web layer (moderation uses it too); re-exported while other
# packages still import it from here.
from marketplace.web.forms import ConfirmForm

__all__ = ["ConfirmForm"]


def scopes_field() -> SelectMultipleField:
    return SelectMultipleField(
        "What may they do for you?",
        widget=GovCheckboxesInput(),
        choices=[SelectChoice(scope.value, label) for scope, label in SCOPE_LABELS.items()],
        description="Select all that apply. You can change this or end their access at any time.",
        validators=[DataRequired(message="Select at least one thing they may do")],
    )


class InviteCarerForm(FlaskForm):
    email = email_field("Their email address")
    scopes = scopes_field()
    submit = SubmitField("Send invitation", widget=GovSubmitInput())


class ScopesForm(FlaskForm):
    scopes = scopes_field()
    submit = SubmitField("Save changes", widget=GovSubmitInput())
