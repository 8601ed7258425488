"""The form a seeker fills in when asking a new buddy after a handover."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCharacterCount, GovRadioInput, GovSubmitInput
from wtforms import RadioField, SelectChoice, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from marketplace.buddies.handover import MAX_SUMMARY

NO = "no"
YES = "yes"


class HandoverForm(FlaskForm):
    share = RadioField(
        "Would you like to share a short summary with them?",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(NO, "No, we will start afresh"),
            SelectChoice(YES, "Yes, share the summary I write below"),
        ],
        default=NO,
        description="For example, what you have sorted out so far and what you would like "
        "help with next. Only your new buddy will see it, as the first message in your "
        "conversation. Your previous buddy never sees it.",
        validators=[InputRequired(message="Choose whether to share a summary")],
    )
    summary = TextAreaField(
        "Your summary (only if you chose Yes)",
        widget=GovCharacterCount(),
        validators=[
            Length(
                max=MAX_SUMMARY,
                message=f"Your summary must be {MAX_SUMMARY:,} characters or fewer",
            )
        ],
    )
    submit = SubmitField("Ask them", widget=GovSubmitInput())

    def shared_summary(self) -> str | None:
        """What to share: None unless they chose Yes."""
        return (self.summary.data or "") if self.share.data == YES else None
