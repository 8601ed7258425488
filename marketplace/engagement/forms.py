"""Forms for shortlisting, enquiring, replying and reviewing."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovRadioInput,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import HiddenField, RadioField, SelectChoice, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from marketplace.carers.acting import for_whom_field
from marketplace.engagement.models import MAX_MESSAGE, MAX_REPLY, MAX_REVIEW, MAX_SUBJECT

RATING_CHOICES = [
    SelectChoice("5", "5 – Excellent"),
    SelectChoice("4", "4 – Good"),
    SelectChoice("3", "3 – All right"),
    SelectChoice("2", "2 – Poor"),
    SelectChoice("1", "1 – Very poor"),
]


def message_field(label: str, limit: int, missing: str, hint: str = "") -> TextAreaField:
    """A text area with a character count and plain-English errors."""
    return TextAreaField(
        label,
        widget=GovCharacterCount(),
        description=hint,
        validators=[
            DataRequired(message=missing),
            Length(max=limit, message=f"{label} must be {limit} characters or fewer"),
        ],
    )


class ShortlistForm(FlaskForm):
    """A shortlist button: POST with CSRF, for yourself or a holder you help."""

    for_holder = HiddenField(validators=[Optional(), Regexp(r"^\d+$", message="Try again")])
    next = HiddenField()


class EnquiryForm(FlaskForm):
    for_whom = for_whom_field()
    subject = StringField(
        "Subject",
        widget=GovTextInput(),
        description="A few words, like: Are there places on Tuesdays?",
        validators=[
            DataRequired(message="Enter a subject"),
            Length(max=MAX_SUBJECT, message=f"Subject must be {MAX_SUBJECT} characters or fewer"),
        ],
    )
    body = message_field(
        "Your message",
        MAX_MESSAGE,
        "Enter your message",
        "Only the provider's staff will see this. Do not include bank details.",
    )
    submit = SubmitField("Send enquiry", widget=GovSubmitInput())


class MessageForm(FlaskForm):
    body = message_field("Your reply", MAX_MESSAGE, "Enter your message")
    submit = SubmitField("Send reply", widget=GovSubmitInput())


class ReviewForm(FlaskForm):
    rating = RadioField(
        "How would you rate this service?",
        widget=GovRadioInput(),
        choices=RATING_CHOICES,
        invalid_choice_message="Choose a rating from 1 to 5",
        validators=[InputRequired(message="Choose a rating from 1 to 5")],
    )
    body = message_field(
        "Your review",
        MAX_REVIEW,
        "Write your review",
        "What was good, and what could be better? A moderator reads every review before it is "
        "published. Please do not name staff or other people.",
    )
    submit = SubmitField("Send review", widget=GovSubmitInput())


class ReviewReplyForm(FlaskForm):
    body = message_field(
        "Your reply",
        MAX_REPLY,
        "Write your reply",
        "You can reply once. A moderator reads it before it is published.",
    )
    submit = SubmitField("Send reply", widget=GovSubmitInput())
