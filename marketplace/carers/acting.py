"""Acting for someone, on the pages: the "Who is this for?" field, its choices, and who an
action is really for. Every feature's pages use these, so the rule is the same everywhere:
a carer may pick only a holder whose live grant covers this part of the site."""

from __future__ import annotations

from flask import abort, request
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput
from wtforms import RadioField, SelectChoice
from wtforms.validators import Optional

from marketplace.auth.access import current_person
from marketplace.auth.models import User

MYSELF = "me"


def for_whom_field() -> RadioField:
    """Who the action is for: yourself, or someone you help (choices set by the view)."""
    return RadioField(
        "Who is this for?",
        widget=GovRadioInput(),
        choices=[SelectChoice(MYSELF, "Myself")],
        description="You can do this for someone who has asked you to help them.",
        default=MYSELF,
        invalid_choice_message="Choose who this is for",
        # Not rendered for people who help nobody: then it is left out and means "Myself".
        validators=[Optional()],
    )


def chosen_holder(value: str | None) -> int | None:
    """The holder id from a for_whom value (None means the person themselves)."""
    return None if not value or value == MYSELF else int(value)


def for_whom_choices(helped: list[User]) -> list[SelectChoice]:
    """ "Myself", then each holder the signed-in person may act for here."""
    return [SelectChoice(MYSELF, "Myself")] + [
        SelectChoice(str(h.id), h.display_name) for h in helped
    ]


def holder_or_404(holder_id: int | None, helped: list[User]) -> tuple[User, User | None]:
    """(the person it is for, the signed-in carer acting for them or None); 404 for anyone
    they may not act for, so an id in a form cannot reach someone else's account."""
    me = current_person()
    if holder_id is None or holder_id == me.id:
        return me, None
    holder = next((h for h in helped if h.id == holder_id), None)
    if holder is None:
        abort(404)
    return holder, me


def whose_page(field: RadioField, helped: list[User]) -> tuple[User, User | None]:
    """For a GET page about someone's records (?for_whom=<id>): fill the "whose" field from
    the query and return (whose records, the carer looking or None). Anything but "me" or a
    holder's id they may see is 404, as `holder_or_404` answers."""
    field.choices = for_whom_choices(helped)
    wanted = request.args.get("for_whom", MYSELF)
    if wanted != MYSELF and not wanted.isdigit():
        abort(404)
    field.data = wanted
    return holder_or_404(chosen_holder(wanted), helped)
