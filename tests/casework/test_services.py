"""Rights requests and complaints: deadlines, validation, answers, and the person's own rights."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from marketplace.audit import AuditEntry
from marketplace.casework import services as casework
from marketplace.casework.models import Case
from marketplace.errors import DomainError, NotAllowed
from marketplace.privacy import services as privacy
from tests.factories import PASSWORD, UserFactory


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 11, 24), date(2026, 12, 24)),
        (date(2026, 12, 15), date(2027, 1, 15)),
        (date(2027, 1, 31), date(2027, 2, 28)),  # no 31 February: the month's last day
        (date(2028, 1, 30), date(2028, 2, 29)),  # leap year
        (date(2026, 8, 31), date(2026, 9, 30)),
    ],
)
def test_one_calendar_month_to_answer(received, due):
    assert casework.due_date(received) == due


def test_a_request_is_logged_with_its_deadline_and_audited(db_session):
    person = UserFactory()
    case = casework.open_case(
        db_session,
        person,
        "rectification",
        "My name is wrong",
        now=datetime(2027, 1, 31, tzinfo=UTC),
    )
    assert case.due_on == date(2027, 2, 28)
    assert casework.open_cases(db_session) == [case]
    assert casework.days_left(case, today=date(2027, 3, 2)) == -2
    entry = db_session.query(AuditEntry).filter_by(action="case.opened").one()
    assert entry.subject_id == case.id


def test_bad_input_is_named_and_nothing_is_saved(db_session):
    person = UserFactory()
    for kind, details, field in [
        ("", "x", "kind"),
        ("nonsense", "x", "kind"),
        ("objection", "  ", "details"),
        ("objection", "x" * 5001, "details"),
    ]:
        with pytest.raises(DomainError) as error:
            casework.open_case(db_session, person, kind, details)
        assert error.value.field == field
    # A visitor may complain with an email address for the answer, but not make a rights request.
    with pytest.raises(DomainError) as error:
        casework.open_case(db_session, None, "complaint_service", "Slow pages", "not-an-email")
    assert error.value.field == "contact_email"
    with pytest.raises(NotAllowed):
        casework.open_case(db_session, None, "access", "", "me@example.com")
    assert db_session.query(Case).count() == 0
    # Access needs no explanation.
    assert casework.open_case(db_session, person, "access", "").details == ""


def test_only_an_admin_answers_once_and_the_person_is_emailed(db_session):
    person = UserFactory()
    case = casework.open_case(db_session, person, "complaint_report", "Nobody replied")
    with pytest.raises(NotAllowed):
        casework.close_case(db_session, UserFactory(roles=["ulo_staff"]), case, "Sorry")
    admin = UserFactory(roles=["admin"])
    with pytest.raises(DomainError):
        casework.close_case(db_session, admin, case, "  ")
    answer = casework.close_case(db_session, admin, case, "We are sorry; we have fixed it")
    assert answer is not None and answer.to == person.email
    assert "reference" in answer.subject and "fixed it" in answer.body
    assert case.closed_by_id == admin.id
    assert casework.open_cases(db_session) == []
    with pytest.raises(DomainError):
        casework.close_case(db_session, admin, case, "Again")


def test_a_visitors_complaint_is_answered_at_their_address(db_session):
    case = casework.open_case(db_session, None, "complaint_decision", "Unfair", "Me@Example.com")
    answer = casework.close_case(db_session, UserFactory(roles=["admin"]), case, "Looked again")
    assert answer is not None and answer.to == "Me@example.com"


def test_export_and_erasure(db_session):
    person = UserFactory()
    case = casework.open_case(db_session, person, "objection", "No marketing please")
    exported = privacy.export_user_data(db_session, person)["requests_and_complaints"]
    assert exported[0]["details"] == "No marketing please"
    assert exported[0]["reference"] == case.id
    privacy.erase_account(db_session, person, PASSWORD)
    assert case.user_id is None
    assert case.details == "(erased)"
    assert case.due_on is not None  # that it was asked and when stays, to show we answered


# --- Online Safety Act: acknowledgement and the right next step --------------------------------


@pytest.fixture
def in_app(app):
    with app.app_context():
        yield


def test_a_complaint_is_acknowledged_with_its_reference_and_nothing_it_said(
    in_app, db_session, mailbox
):
    person = UserFactory()
    case = casework.open_case(db_session, person, "complaint_report", "Nobody replied about Sam")
    db_session.commit()
    email = mailbox.last_to(person.email, f"We have your complaint (reference {case.id})")
    body = email.get_payload()
    assert f"Your reference is {case.id}" in body
    assert f"We will answer by {case.due_on:%d %B %Y}" in body
    assert "Sam" not in body


def test_a_visitors_complaint_is_acknowledged_at_their_address(in_app, db_session, mailbox):
    case = casework.open_case(db_session, None, "complaint_other", "Slow", "visitor@example.com")
    db_session.commit()
    mailbox.last_to("visitor@example.com", f"We have your complaint (reference {case.id})")


@pytest.mark.parametrize(
    ("kind", "says", "not_says"),
    [
        ("complaint_decision", ["appeal link", "Ofcom", "ofcom.org.uk"], ["Information Commiss"]),
        ("complaint_report", ["complain to the ULO directly", "Ofcom"], ["appeal link"]),
        ("complaint_service", ["complain to that organisation directly", "Ofcom"], []),
        ("complaint_other", ["Ofcom", "Information Commissioner's Office"], []),
        ("objection", ["Information Commissioner's Office"], ["Ofcom"]),
    ],
)
def test_each_answer_names_the_right_next_step(db_session, kind, says, not_says):
    case = casework.open_case(db_session, UserFactory(), kind, "Please look")
    answer = casework.close_case(db_session, UserFactory(roles=["admin"]), case, "Answered")
    assert answer is not None
    for words in says:
        assert words in answer.body
    for words in not_says:
        assert words not in answer.body
