"""Forms for the one hello before asking, and the buddy's one answer."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCharacterCount, GovSubmitInput
from wtforms import SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from marketplace.buddies.models import MAX_HELLO


class HelloForm(FlaskForm):
    body = TextAreaField(
        "Your hello",
        widget=GovCharacterCount(),
        description="A few words, for example what you would like to ask them. You can say "
        "hello once to each buddy. They can answer once, or not.",
        validators=[
            InputRequired(message="Enter your hello"),
            Length(max=MAX_HELLO, message=f"Your hello must be {MAX_HELLO} characters or fewer"),
        ],
    )
    submit = SubmitField("Send hello", widget=GovSubmitInput())


class AnswerForm(FlaskForm):
    body = TextAreaField(
        "Your answer",
        widget=GovCharacterCount(),
        description="You can answer once. You do not have to answer.",
        validators=[
            InputRequired(message="Enter your answer"),
            Length(max=MAX_HELLO, message=f"Your answer must be {MAX_HELLO} characters or fewer"),
        ],
    )
    submit = SubmitField("Send answer", widget=GovSubmitInput())
