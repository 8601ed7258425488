"""Forms for offering to be a buddy, asking for one, talking, pausing, ending and reporting."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from marketplace.buddies.labels import (
    HELPFULNESS_LABELS,
    HOLDING_LABELS,
    LIVED_LABELS,
    TIME_LABELS,
    TOPIC_LABELS,
    WAY_LABELS,
)
from marketplace.buddies.models import (
    MAX_ABOUT_ME,
    MAX_CAPACITY,
    MAX_CONTACT,
    MAX_MESSAGE,
    MIN_MONTHS_HOLDING,
)
from marketplace.carers.acting import for_whom_field
from marketplace.providers.models import LANGUAGES
from marketplace.web.forms import WholeNumberField, checkboxes, int_or_zero

NO_BUDGET_YET = "none"
PAUSE_CHOICES = [
    SelectChoice("7", "1 week"),
    SelectChoice("14", "2 weeks"),
    SelectChoice("28", "4 weeks"),
    SelectChoice("", "Until one of us picks it up again"),
]


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


def council_field() -> SelectField:
    """The council area (choices set by the view)."""
    return SelectField(
        "Your council",
        widget=GovSelect(),
        coerce=int_or_zero,
        choices=[],
        description="The council that gives you your personal budget or direct payment.",
        validators=[InputRequired(message="Choose your council")],
        validate_choice=False,  # the service checks it, with a plain-English message
    )


def postcode_field() -> StringField:
    """An optional postcode, only used to find someone near enough to meet."""
    return StringField(
        "Postcode (optional)",
        widget=GovTextInput(),
        description="Only used to suggest someone near enough to meet, if you both want to. "
        "Nobody sees it.",
        validators=[Optional(), Length(max=8, message="Enter a postcode, like LS1 4AP")],
    )


# The form checks what it can on its own, so that every missing answer is shown at once;
# the service checks the same rules again (and the ones that need the database).


def languages_field() -> SelectMultipleField:
    """Languages someone can talk in."""
    return checkboxes(
        "Languages you can talk in",
        [SelectChoice(x, x) for x in LANGUAGES],
        validators=[DataRequired(message="Choose at least one language")],
    )


def ways_field() -> SelectMultipleField:
    """Ways of keeping in touch."""
    return checkboxes(
        "How you would like to keep in touch",
        _choices(WAY_LABELS),
        validators=[DataRequired(message="Choose at least one way of keeping in touch")],
    )


def times_field() -> SelectMultipleField:
    """Times that suit someone."""
    return checkboxes(
        "When suits you",
        _choices(TIME_LABELS),
        validators=[DataRequired(message="Choose at least one time that suits you")],
    )


def gender_preference_field() -> StringField:
    """An optional 'only someone who is...' preference, described in the person's own words."""
    return StringField(
        "Only be paired with someone of this gender (optional)",
        widget=GovTextInput(),
        description="For example, woman. Leave blank if you do not mind.",
        validators=[Optional(), Length(max=60, message="Keep this to 60 characters")],
    )


def own_gender_field() -> StringField:
    """The person's own gender, optional and private: used only for people's preferences."""
    return StringField(
        "Your gender (optional)",
        widget=GovTextInput(),
        description="Private. Only used to respect someone's wish to talk to, say, a woman.",
        validators=[Optional(), Length(max=60, message="Keep this to 60 characters")],
    )


def lived_topics_field(label: str) -> SelectMultipleField:
    """Private lived-experience topics: never shown to anyone, not even a buddy."""
    return checkboxes(
        label,
        _choices(LIVED_LABELS),
        hint="Private: never shown to anyone, not even the person you are paired with. "
        "Only used for matching if you tick the box below and the other person did too.",
    )


def share_lived_field() -> BooleanField:
    """Consent to use the lived-experience topics when matching."""
    return BooleanField(
        "Use these experiences when matching me", widget=GovCheckboxInput(), default=False
    )


class OfferForm(FlaskForm):
    council_id = council_field()
    months_holding = WholeNumberField(
        "How many months have you had a personal budget or direct payment?",
        widget=GovTextInput(),
        not_a_number="Enter how many months, as a number like 18",
        validators=[
            InputRequired(message="Enter how many months, as a number like 18"),
            NumberRange(
                min=MIN_MONTHS_HOLDING,
                message=f"Buddies have held a budget for at least {MIN_MONTHS_HOLDING} months "
                "(this is our rule, so that buddies have been through a review)",
            ),
            NumberRange(max=600, message="Enter a number of months up to 600"),
        ],
    )
    holds = RadioField(
        "How do you hold your budget?",
        widget=GovRadioInput(),
        choices=_choices(HOLDING_LABELS),
        validators=[InputRequired(message="Say how you hold your budget")],
    )
    experience = checkboxes(
        "What could you help someone with?",
        _choices(TOPIC_LABELS),
        validators=[DataRequired(message="Choose at least one thing you can help with")],
    )
    used_for = checkboxes(
        "What have you used your own budget for? (optional)",
        [],
        hint="Your buddy sees this once you are paired. It gives them ideas.",
    )
    languages = languages_field()
    ways = ways_field()
    times = times_field()
    capacity = RadioField(
        "How many people could you be a buddy to at once?",
        widget=GovRadioInput(),
        coerce=int,
        choices=[SelectChoice(n, str(n)) for n in range(1, MAX_CAPACITY + 1)],
        default=1,
        validators=[InputRequired(message="Choose how many people")],
    )
    about_me = TextAreaField(
        "About you, in your own words (optional)",
        widget=GovCharacterCount(),
        description="Shown with your name to people we suggest you to, so they can choose. "
        "For example, what helped you at the start. Your local user-led organisation reads "
        "it before anyone else sees it. Do not put contact details or anything you would "
        "rather keep private.",
        validators=[
            Optional(),
            Length(
                max=MAX_ABOUT_ME, message=f"About you must be {MAX_ABOUT_ME} characters or fewer"
            ),
        ],
    )
    postcode = postcode_field()
    only_gender = gender_preference_field()
    gender = own_gender_field()
    lived_experience_topics = lived_topics_field(
        "Experiences you would be happy to talk about (optional)"
    )
    share_lived_experience = share_lived_field()
    submit = SubmitField("Send my offer", widget=GovSubmitInput())


class AskForm(FlaskForm):
    for_whom = for_whom_field()
    council_id = council_field()
    wants = checkboxes(
        "What would you like help with?",
        _choices(TOPIC_LABELS),
        validators=[DataRequired(message="Choose at least one thing you would like help with")],
    )
    holds = RadioField(
        "How do you hold your budget?",
        widget=GovRadioInput(),
        choices=[*_choices(HOLDING_LABELS), SelectChoice(NO_BUDGET_YET, "I do not have one yet")],
        validators=[InputRequired(message="Say how you hold your budget, or that you have none")],
    )
    languages = languages_field()
    ways = ways_field()
    times = times_field()
    postcode = postcode_field()
    only_gender = gender_preference_field()
    gender = own_gender_field()
    lived_experience_topics = lived_topics_field(
        "Experiences you would like your buddy to understand (optional)"
    )
    share_lived_experience = share_lived_field()
    submit = SubmitField("Ask for a buddy", widget=GovSubmitInput())


class MessageForm(FlaskForm):
    body = TextAreaField(
        "Your message",
        widget=GovCharacterCount(),
        validators=[
            InputRequired(message="Enter your message"),
            Length(
                max=MAX_MESSAGE,
                message=f"Your message must be {MAX_MESSAGE:,} characters or fewer",
            ),
        ],
    )
    submit = SubmitField("Send message", widget=GovSubmitInput())


class ContactForm(FlaskForm):
    contact = StringField(
        "How your buddy can reach you outside this site (optional)",
        widget=GovTextInput(),
        description="For example, a phone number. Only your buddy sees it. "
        "Leave blank to stop sharing.",
        validators=[
            Length(max=MAX_CONTACT, message=f"Keep this to {MAX_CONTACT} characters"),
        ],
    )
    submit = SubmitField("Save what I share", widget=GovSubmitInput())


class PauseForm(FlaskForm):
    days = RadioField(
        "How long would you like to pause for?",
        widget=GovRadioInput(),
        choices=PAUSE_CHOICES,
        description="You do not need to give a reason. Messages wait until you pick it up again.",
        validators=[Optional()],
        validate_choice=False,
    )
    submit = SubmitField("Pause", widget=GovSubmitInput())


class EndForm(FlaskForm):
    reason = TextAreaField(
        "Anything you would like to say about why? (optional)",
        widget=GovTextArea(),
        description="Only the local user-led organisation sees this. You do not have to say.",
        validators=[Optional(), Length(max=2000, message="Keep this to 2000 characters")],
    )
    submit = SubmitField("End the pairing", widget=GovSubmitInput())


class ConcernForm(FlaskForm):
    body = TextAreaField(
        "What worries you?",
        widget=GovCharacterCount(),
        description="Staff at the local user-led organisation will read this, and may read "
        "your conversation to help. If anyone is in danger now, call 999.",
        validators=[
            InputRequired(message="Tell us what worries you"),
            Length(max=MAX_MESSAGE, message=f"Keep it to {MAX_MESSAGE:,} characters"),
        ],
    )
    submit = SubmitField("Send to the organisation", widget=GovSubmitInput())


class FeedbackForm(FlaskForm):
    helpfulness = RadioField(
        "How helpful has being buddies been so far?",
        widget=GovRadioInput(),
        choices=_choices(HELPFULNESS_LABELS),
        description="Your answer is only counted in totals. Nobody sees who said what.",
        validators=[InputRequired(message="Choose how helpful it has been")],
    )
    submit = SubmitField("Send", widget=GovSubmitInput())
