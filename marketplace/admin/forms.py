"""Admin forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea, GovTextInput
from wtforms import IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange


class CategoryForm(FlaskForm):
    name = StringField(
        "Name",
        widget=GovTextInput(),
        validators=[
            DataRequired(message="Enter the category's name"),
            Length(max=80, message="Name must be 80 characters or fewer"),
        ],
    )
    description = TextAreaField(
        "Description",
        widget=GovTextArea(),
        validators=[Length(max=500, message="Description must be 500 characters or fewer")],
    )
    position = IntegerField(
        "Position in lists",
        widget=GovTextInput(),
        description="Smaller numbers come first.",
        validators=[
            InputRequired(message="Enter a whole number, like 3"),
            NumberRange(min=0, max=1000, message="Enter a number from 0 to 1000"),
        ],
    )
    submit = SubmitField("Save category", widget=GovSubmitInput())
