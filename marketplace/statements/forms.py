"""Forms for statements: the date range (a GET form), the person's details, and a payout paid."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput, GovTextInput
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional

from marketplace.carers import acting
from marketplace.payments.models import MAX_REFERENCE as MAX_PAYOUT_REFERENCE
from marketplace.pools.forms import PoundsField
from marketplace.statements.models import MAX_NAME, MAX_REFERENCE
from marketplace.web.forms import DayMonthYearField


class OptionalDayField(DayMonthYearField):
    """A GOV.UK date that may be left blank (all three boxes empty): then it is None."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not any(v.strip() for v in valuelist):
            self.raw_data = ["", "", ""]
            self.data = None
            return
        super().process_formdata(valuelist)


class RangeForm(FlaskForm):
    """Whose statement and which days: a GET form that changes nothing, so it has no CSRF."""

    class Meta:
        csrf = False

    for_whom = acting.for_whom_field()
    start = OptionalDayField(
        "From",
        description="For example, 1 4 2026. Leave it blank to start from the first payment.",
        missing="Enter the start date as a day, month and year",
    )
    end = OptionalDayField(
        "To",
        description="For example, 30 6 2026. Leave it blank for up to today.",
        missing="Enter the end date as a day, month and year",
    )
    submit = SubmitField("Show the statement", widget=GovSubmitInput())


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


class DetailsForm(FlaskForm):
    name = StringField(
        "Name for statements (optional)",
        widget=GovTextInput(),
        description="The name your council knows you by, if it is not the name on your account.",
        validators=[
            Optional(),
            Length(max=MAX_NAME, message=f"The name must be {MAX_NAME} characters or fewer"),
        ],
    )
    council_id = SelectField(
        "Council paying your direct payment (optional)",
        widget=GovSelect(),
        coerce=_int_or_none,
        choices=[],
        validate_choice=False,
    )
    reference = StringField(
        "Direct-payment reference (optional)",
        widget=GovTextInput(),
        description="The reference your council gave your direct payment, if it has one.",
        validators=[
            Optional(),
            Length(
                max=MAX_REFERENCE,
                message=f"The reference must be {MAX_REFERENCE} characters or fewer",
            ),
        ],
    )
    submit = SubmitField("Save these details", widget=GovSubmitInput())


class PayoutForm(FlaskForm):
    amount = PoundsField(
        "Amount paid",
        description="In pounds, like 120 or 120.50.",
        missing="Enter the amount paid",
    )
    reference = StringField(
        "Bank transfer reference",
        widget=GovTextInput(),
        validators=[
            Length(
                max=MAX_PAYOUT_REFERENCE,
                message=f"The reference must be {MAX_PAYOUT_REFERENCE} characters or fewer",
            )
        ],
    )
    paid_on = OptionalDayField(
        "Date paid",
        description="For example, 27 3 2026. Leave it blank for today.",
        missing="Enter the date paid as a day, month and year",
    )
    submit = SubmitField("Record the payout", widget=GovSubmitInput())
