"""Forms for listing a service and for searching the directory."""

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
    EmailField,
    Field,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from marketplace.auth.forms import EMAIL_FORMAT
from marketplace.money import NotMoney, parse_pounds
from marketplace.providers.models import (
    ACCESS_LABELS,
    COMMUNITY_LABELS,
    DELIVERY_LABELS,
    LANGUAGES,
    PRICE_UNIT_LABELS,
    WEEKDAYS,
    Specialism,
)
from marketplace.web.forms import WholeNumberField, checkboxes

PRICE_ROWS = 3
_A_TIME = Length(max=5, message="Enter a time like 09:30")

UNIT_CHOICES = [SelectChoice("", "Choose")] + [
    SelectChoice(unit.value, label) for unit, label in PRICE_UNIT_LABELS.items()
]


def _money(form: FlaskForm, field: Field) -> None:
    if field.data and field.data.strip():
        try:
            parse_pounds(field.data)
        except NotMoney as error:
            raise ValidationError("Enter an amount in pounds, like 12.50") from error


class ListingForm(FlaskForm):
    name = StringField(
        "Name of the service",
        widget=GovTextInput(),
        validators=[
            DataRequired(message="Enter the name of the service"),
            Length(max=120, message="Name must be 120 characters or fewer"),
        ],
    )
    summary = TextAreaField(
        "Summary",
        widget=GovCharacterCount(),
        description="One or two sentences that appear in search results.",
        validators=[
            DataRequired(message="Enter a short summary"),
            Length(max=160, message="Summary must be 160 characters or fewer"),
        ],
    )
    description = TextAreaField(
        "Full description",
        widget=GovTextArea(),
        description="What happens, who it is for, what it costs and how to start.",
        validators=[Length(max=5000, message="Description must be 5000 characters or fewer")],
    )
    category_ids = checkboxes(
        "Categories",
        [],
        coerce=int,
        validators=[DataRequired(message="Select at least one category")],
    )
    tags = StringField(
        "Other words people might search for (optional)",
        widget=GovTextInput(),
        description="Separate them with commas, like: swimming, women only sessions",
        validators=[Length(max=500, message="Keep tags to 500 characters")],
    )
    delivery_modes = checkboxes(
        "How is it delivered?",
        [SelectChoice(mode.value, label) for mode, label in DELIVERY_LABELS.items()],
        validators=[DataRequired(message="Select at least one way the service is delivered")],
    )
    council_ids = checkboxes("Council areas you serve", [], coerce=int)
    serves_nationally = BooleanField(
        "Anyone in England can use it online or by phone",
        widget=GovCheckboxInput(),
        description="People anywhere in England will find it when they search near their postcode.",
    )
    postcode = StringField(
        "Postcode where it happens (optional)",
        widget=GovTextInput(),
        description="For services people come to. Leave blank for online or phone services.",
        validators=[Optional(), Length(max=10, message="Enter a real UK postcode, like LS1 1UR")],
    )
    radius_miles = IntegerField(
        "How far from the postcode do you travel or serve? (miles, optional)",
        widget=GovTextInput(),
        validators=[
            Optional(),
            NumberRange(min=1, max=200, message="Distance must be between 1 and 200 miles"),
        ],
    )
    languages = checkboxes(
        "Languages the service is offered in",
        [SelectChoice(language, language) for language in LANGUAGES],
        validators=[DataRequired(message="Select at least one language")],
    )
    communities = checkboxes(
        "Is it for a particular community? (optional)",
        [SelectChoice(c.value, label) for c, label in COMMUNITY_LABELS.items()],
    )
    specialism = RadioField(
        "Is it a mental health service?",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(Specialism.MENTAL_HEALTH.value, "Yes, it specialises in mental health"),
            SelectChoice(Specialism.MAINSTREAM.value, "No, it is a mainstream service"),
        ],
        validators=[InputRequired(message="Say whether it is a mental health service")],
    )
    takes_direct_payments = BooleanField(
        "We accept direct payments", widget=GovCheckboxInput(), default=True
    )
    takes_managed_accounts = BooleanField(
        "We accept payment from managed accounts", widget=GovCheckboxInput()
    )
    accessibility = TextAreaField(
        "Accessibility (optional)",
        widget=GovTextArea(),
        description="Step-free access, quiet spaces, hearing loops, BSL, and so on.",
        validators=[Length(max=2000, message="Keep this to 2000 characters")],
    )
    address_line_1 = StringField(
        "Address line 1",
        widget=GovTextInput(),
        validators=[Length(max=120, message="Keep each address line to 120 characters")],
    )
    address_line_2 = StringField(
        "Address line 2 (optional)",
        widget=GovTextInput(),
        validators=[Length(max=120, message="Keep each address line to 120 characters")],
    )
    town = StringField(
        "Town or city",
        widget=GovTextInput(),
        validators=[Length(max=80, message="Keep the town or city to 80 characters")],
    )
    minimum_age = WholeNumberField(
        "Youngest age (optional)",
        not_a_number="Enter the youngest age as a whole number, like 18",
        validators=[
            Optional(),
            NumberRange(min=0, max=120, message="Enter an age from 0 to 120"),
        ],
    )
    maximum_age = WholeNumberField(
        "Oldest age (optional)",
        not_a_number="Enter the oldest age as a whole number, like 65",
        validators=[
            Optional(),
            NumberRange(min=0, max=120, message="Enter an age from 0 to 120"),
        ],
    )
    eligibility = TextAreaField(
        "Anything else about who can use it (optional)",
        widget=GovTextArea(),
        description="For example: for people living in Leeds who have a personal budget.",
        validators=[Length(max=1000, message="Keep who it is for to 1000 characters")],
    )
    access = RadioField(
        "How do people get into the service? (optional)",
        widget=GovRadioInput(),
        choices=[SelectChoice(access.value, label) for access, label in ACCESS_LABELS.items()],
        validators=[Optional()],
    )
    waiting_time = StringField(
        "How long do people usually wait to start? (optional)",
        widget=GovTextInput(),
        description="For example: about 2 weeks, or no wait.",
        validators=[Length(max=200, message="Keep the waiting time to 200 characters")],
    )
    cqc_number = StringField(
        "Care Quality Commission (CQC) registration number (optional)",
        widget=GovTextInput(),
        description="For regulated care, like personal care. It starts 1-, like 1-123456789.",
        validators=[Length(max=20, message="A CQC number is 1- and then up to 15 digits")],
    )
    charity_number = StringField(
        "Registered charity number (optional)",
        widget=GovTextInput(),
        description="Like 1123456, or SC012345 in Scotland.",
        validators=[Length(max=20, message="Enter a charity number like 1123456")],
    )
    company_number = StringField(
        "Company number (optional)",
        widget=GovTextInput(),
        description="From Companies House, like 01234567.",
        validators=[Length(max=20, message="Enter a company number like 01234567")],
    )
    dbs_checked = RadioField(
        "Do the staff who visit people's homes have a DBS check?",
        widget=GovRadioInput(),
        description="Only for services delivered at home. A DBS check is a criminal record check.",
        choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")],
        validators=[Optional()],
    )
    times = TextAreaField(
        "Anything else about when it is available (optional)",
        widget=GovTextArea(),
        validators=[Length(max=1000, message="Keep this to 1000 characters")],
    )
    contact_email = EmailField(
        "Contact email (optional)",
        widget=GovTextInput(),
        validators=[Optional(), Email(message=EMAIL_FORMAT, check_deliverability=False)],
    )
    contact_phone = StringField(
        "Contact phone (optional)",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=40, message="Phone number is too long")],
    )
    website = URLField(
        "Website (optional)",
        widget=GovTextInput(),
        validators=[
            Optional(),
            URL(message="Enter a web address like https://www.example.org"),
            Length(max=255, message="Web address is too long"),
        ],
    )
    submit = SubmitField("Save", widget=GovSubmitInput())


for _row in range(1, PRICE_ROWS + 1):
    setattr(
        ListingForm,
        f"price{_row}_amount",
        StringField(
            f"Price {_row}: amount in pounds",
            widget=GovTextInput(),
            validators=[Optional(), _money],
        ),
    )
    setattr(
        ListingForm,
        f"price{_row}_unit",
        SelectField(f"Price {_row}: what it is for", widget=GovSelect(), choices=UNIT_CHOICES),
    )
    setattr(
        ListingForm,
        f"price{_row}_label",
        StringField(
            f"Price {_row}: description (optional)",
            widget=GovTextInput(),
            validators=[Length(max=120, message="Keep the description to 120 characters")],
        ),
    )


for _day, _name in enumerate(WEEKDAYS):
    setattr(
        ListingForm,
        f"day{_day}_opens",
        StringField(
            f"{_name}: opens",
            widget=GovTextInput(),
            validators=[_A_TIME],
        ),
    )
    setattr(
        ListingForm,
        f"day{_day}_closes",
        StringField(
            f"{_name}: closes",
            widget=GovTextInput(),
            validators=[_A_TIME],
        ),
    )
    setattr(
        ListingForm,
        f"day{_day}_note",
        StringField(
            f"{_name}: note (optional)",
            widget=GovTextInput(),
            validators=[Length(max=120, message="Keep the note to 120 characters")],
        ),
    )


class ReasonForm(FlaskForm):
    """A decision reason, e.g. when hiding a listing."""

    reason = TextAreaField(
        "Reason",
        widget=GovTextArea(),
        validators=[Length(max=2000, message="Keep the reason to 2000 characters")],
    )
    submit = SubmitField("Confirm", widget=GovSubmitInput())
