"""The ask and offer forms as GOV.UK question pages: one question a page, then "Check your
answers" with a Change link for each.

The questions are the fields of `forms.AskForm` and `forms.OfferForm`, so each page checks
exactly what the one-page form checked, with the same messages. Answers are kept in the
signed-in person's session until they are sent; nothing is saved before "Check your answers".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import session
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import SubmitField

from marketplace.buddies import profiles, services
from marketplace.buddies.forms import NO_BUDGET_YET, AskForm, OfferForm
from marketplace.buddies.models import BuddyProfile, split

ASK = "ask"
OFFER = "offer"
_KEY = "buddy_questions"


@dataclass(frozen=True)
class Step:
    """One question page: its address, the field(s) it asks and the words on the page."""

    slug: str
    fields: tuple[str, ...]
    question: str  # the page heading, which is also the field's label or legend
    summary: str  # the key on "Check your answers"


ASK_STEPS: tuple[Step, ...] = (
    Step("who", ("for_whom",), "Who are you asking for?", "Asking for"),
    Step("help", ("wants",), "What would you like help with?", "Help with"),
    Step("council", ("council_id",), "Which council gives you your budget?", "Council"),
    Step("holding", ("holds",), "How do you hold your budget?", "How you hold it"),
    Step("languages", ("languages",), "Which languages can you talk in?", "Languages"),
    Step("ways", ("ways",), "How would you like to keep in touch?", "Keeping in touch"),
    Step("times", ("times",), "When suits you?", "When suits you"),
    Step("postcode", ("postcode",), "What is your postcode? (optional)", "Postcode"),
    Step(
        "only-gender",
        ("only_gender",),
        "Would you only like a buddy of a certain gender? (optional)",
        "Only a buddy who is",
    ),
    Step("gender", ("gender",), "What is your gender? (optional)", "Your gender"),
    Step(
        "experiences",
        ("lived_experience_topics", "share_lived_experience"),
        "Are there experiences you would like your buddy to understand? (optional)",
        "Experiences",
    ),
)

OFFER_STEPS: tuple[Step, ...] = (
    Step("council", ("council_id",), "Which council gives you your budget?", "Council"),
    Step(
        "months",
        ("months_holding",),
        "How many months have you had a personal budget or direct payment?",
        "Had a budget for",
    ),
    Step("holding", ("holds",), "How do you hold your budget?", "How you hold it"),
    Step("help", ("experience",), "What could you help someone with?", "Can help with"),
    Step(
        "used-for",
        ("used_for",),
        "What have you used your own budget for? (optional)",
        "Used your budget for",
    ),
    Step("languages", ("languages",), "Which languages can you talk in?", "Languages"),
    Step("ways", ("ways",), "How would you like to keep in touch?", "Keeping in touch"),
    Step("times", ("times",), "When are you free to talk?", "When you are free"),
    Step(
        "capacity",
        ("capacity",),
        "How many people could you be a buddy to at once?",
        "People at once",
    ),
    Step("about-me", ("about_me",), "About you, in your own words (optional)", "About you"),
    Step("postcode", ("postcode",), "What is your postcode? (optional)", "Postcode"),
    Step(
        "only-gender",
        ("only_gender",),
        "Would you only like to be paired with someone of a certain gender? (optional)",
        "Only someone who is",
    ),
    Step("gender", ("gender",), "What is your gender? (optional)", "Your gender"),
    Step(
        "experiences",
        ("lived_experience_topics", "share_lived_experience"),
        "Are there experiences you would be happy to talk about? (optional)",
        "Experiences",
    ),
)

_WHOLE_FORMS: dict[str, type[FlaskForm]] = {ASK: AskForm, OFFER: OfferForm}


def steps_of(flow: str, helps_someone: bool = False) -> tuple[Step, ...]:
    """The pages of a flow. "Who are you asking for?" only for someone who helps somebody."""
    if flow == OFFER:
        return OFFER_STEPS
    return tuple(s for s in ASK_STEPS if s.slug != "who" or helps_someone)


def step_called(flow: str, slug: str, helps_someone: bool = False) -> Step | None:
    return next((s for s in steps_of(flow, helps_someone) if s.slug == slug), None)


def step_for_field(flow: str, field: str | None, helps_someone: bool = False) -> Step | None:
    return next((s for s in steps_of(flow, helps_someone) if field in s.fields), None)


_step_forms: dict[tuple[str, str], type[FlaskForm]] = {}


def _step_form_class(flow: str, step: Step) -> type[FlaskForm]:
    key = (flow, step.slug)
    if key not in _step_forms:
        whole = _WHOLE_FORMS[flow]
        attrs: dict[str, Any] = {name: getattr(whole, name) for name in step.fields}
        attrs["submit"] = SubmitField("Continue", widget=GovSubmitInput())
        name = f"{whole.__name__}_{step.slug.replace('-', '_')}"
        _step_forms[key] = type(name, (FlaskForm,), attrs)
    return _step_forms[key]


def step_form(flow: str, step: Step, **kwargs: Any) -> FlaskForm:
    """A form with just this page's fields, taken from the whole form (same validators)."""
    form = _step_form_class(flow, step)(**kwargs)
    getattr(form, step.fields[0]).label.text = step.question
    return form


def whole_form(flow: str, answers: dict[str, Any]) -> FlaskForm:
    """Every field filled from the answers (never from the request), to describe them."""
    return _WHOLE_FORMS[flow](formdata=None, data=answers)


# --- answers kept in the session ----------------------------------------------------------------


@dataclass
class Draft:
    """The answers so far, and which pages have been answered."""

    answers: dict[str, Any]
    done: list[str]
    changing: bool = False  # an offer being changed, rather than a new one


def load(flow: str, user_id: int) -> Draft | None:
    """This person's answers so far (another person's, on a shared computer, are ignored)."""
    saved = (session.get(_KEY) or {}).get(flow)
    if not saved or saved.get("user") != user_id:
        return None
    return Draft(dict(saved["answers"]), list(saved["done"]), bool(saved.get("changing")))


def save(flow: str, user_id: int, draft: Draft | None) -> None:
    kept = dict(session.get(_KEY) or {})
    if draft is None:
        kept.pop(flow, None)
    else:
        kept[flow] = {
            "user": user_id,
            "answers": draft.answers,
            "done": draft.done,
            "changing": draft.changing,
        }
    session[_KEY] = kept


def unanswered(draft: Draft, steps: tuple[Step, ...]) -> Step | None:
    """The first page not answered yet (None once all are)."""
    return next((s for s in steps if s.slug not in draft.done), None)


def record(draft: Draft, step: Step, form: FlaskForm) -> None:
    """Keep what this page's form says."""
    for name in step.fields:
        draft.answers[name] = getattr(form, name).data
    if step.slug not in draft.done:
        draft.done.append(step.slug)


def new_draft(flow: str) -> Draft:
    return Draft({"languages": ["English"]}, [])


def draft_from_profile(profile: BuddyProfile) -> Draft:
    """An existing offer, every page answered, to change from "Check your answers"."""
    answers = {
        "council_id": profile.council_id,
        "months_holding": profile.months_holding,
        "holds": profile.holds,
        "experience": sorted(profile.experience_set),
        "used_for": sorted(profile.used_for_set),
        "languages": sorted(profile.language_set),
        "ways": sorted(profile.way_set),
        "times": sorted(profile.time_set),
        "capacity": profile.capacity,
        "postcode": profile.postcode,
        "only_gender": profile.only_gender,
        "gender": profile.gender,
        "lived_experience_topics": sorted(split(profile.lived_experience_topics)),
        "share_lived_experience": profile.share_lived_experience,
        "about_me": profiles.written(profile),
    }
    return Draft(answers, [s.slug for s in OFFER_STEPS], changing=True)


def _strings(answers: dict[str, Any], name: str) -> tuple[str, ...]:
    return tuple(answers.get(name) or ())


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def offer_data(answers: dict[str, Any]) -> services.OfferData:
    return services.OfferData(
        council_id=_int(answers.get("council_id")),
        months_holding=_int(answers.get("months_holding")),
        holds=answers.get("holds") or "",
        experience=_strings(answers, "experience"),
        used_for=_strings(answers, "used_for"),
        languages=_strings(answers, "languages"),
        ways=_strings(answers, "ways"),
        times=_strings(answers, "times"),
        capacity=_int(answers.get("capacity")) or 1,
        only_gender=answers.get("only_gender"),
        gender=answers.get("gender"),
        lived_experience_topics=_strings(answers, "lived_experience_topics"),
        share_lived_experience=bool(answers.get("share_lived_experience")),
        postcode=answers.get("postcode"),
        about_me=answers.get("about_me"),
    )


def request_data(answers: dict[str, Any]) -> services.RequestData:
    holds = answers.get("holds")
    return services.RequestData(
        council_id=_int(answers.get("council_id")),
        wants=_strings(answers, "wants"),
        holds=None if holds == NO_BUDGET_YET else holds,
        languages=_strings(answers, "languages"),
        ways=_strings(answers, "ways"),
        times=_strings(answers, "times"),
        only_gender=answers.get("only_gender"),
        gender=answers.get("gender"),
        postcode=answers.get("postcode"),
        lived_experience_topics=_strings(answers, "lived_experience_topics"),
        share_lived_experience=bool(answers.get("share_lived_experience")),
    )


# --- "Check your answers" -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    step: Step
    lines: list[str]  # the answer in words, one line per chosen item


def _words(field: Any) -> list[str]:
    """A field's answer in the words its page used."""
    data = field.data
    if field.type == "BooleanField":
        return ["Yes, use them when matching me" if data else "Do not use them when matching"]
    choices = getattr(field, "choices", None)
    labels = (
        {str(value): str(label) for value, label, *_ in field.iter_choices()} if choices else {}
    )
    if isinstance(data, list | tuple):
        return [labels.get(str(v), str(v)) for v in data] or ["None"]
    if data in (None, ""):
        return ["Not given"]
    text = labels.get(str(data), str(data))
    if field.name == "months_holding":
        text = f"{data} months"
    return [text]


def answers_in_words(
    flow: str, draft: Draft, steps: tuple[Step, ...], choices: dict[str, list[Any]]
) -> list[Answer]:
    """Each page's answer, as "Check your answers" lists them."""
    form = whole_form(flow, draft.answers)
    for name, options in choices.items():
        if hasattr(form, name):
            getattr(form, name).choices = options
    found = []
    for step in steps:
        lines: list[str] = []
        for name in step.fields:
            lines += _words(getattr(form, name))
        found.append(Answer(step, lines))
    return found
