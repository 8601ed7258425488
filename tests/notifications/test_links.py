"""One-click links: GET changes nothing, single use, expiry, tampering, never money."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError
from marketplace.notifications import links, preferences
from marketplace.notifications.models import ActionLink, Frequency
from marketplace.tokens import new_token
from tests.factories import UserFactory
from tests.helpers import csrf_from
from tests.notifications.helpers import follow, text


def _path(url: str) -> str:
    return url[url.index("/do/") :]


pytestmark = pytest.mark.usefixtures("ctx")


@pytest.fixture
def person(db_session):
    return UserFactory()


def _fewer_link(db_session, person, **kw) -> str:
    url = links.make_link(db_session, person, "fewer_emails", {}, **kw)
    db_session.commit()
    return _path(url)


def test_get_only_shows_what_will_happen_and_changes_nothing(app, db_session, person):
    path = _fewer_link(db_session, person)
    client = app.test_client()
    for _ in range(3):  # a mail scanner, a link preview, the person
        page = client.get(path)
        assert page.status_code == 200
        assert "one email a week" in text(page)
    assert preferences.frequency_of(db_session, person.id) is Frequency.EACH
    assert db_session.query(ActionLink).one().used_at is None


def test_a_link_works_once_and_a_second_press_does_nothing(app, db_session, person):
    path = _fewer_link(db_session, person)
    client = app.test_client()
    page = client.get(path)
    token = csrf_from(text(page))

    done = client.post(path, data={"csrf_token": token})
    assert done.status_code == 200 and "Done" in text(done)
    assert preferences.frequency_of(db_session, person.id) is Frequency.WEEKLY_DIGEST

    preferences.set_frequency(db_session, person, "each")  # they change their mind on the site
    db_session.commit()
    again = client.post(path, data={"csrf_token": token})
    assert again.status_code == 410
    assert "already been used" in text(again)
    assert preferences.frequency_of(db_session, person.id) is Frequency.EACH
    assert client.get(path).status_code == 410


def test_the_claim_is_conditional_so_a_replayed_use_fails(app, db_session, person):
    url = links.make_link(db_session, person, "fewer_emails", {})
    raw = _path(url).removeprefix("/do/")
    links.use(db_session, raw)
    with pytest.raises(links.LinkUnusable) as error:
        links.use(db_session, raw)
    assert error.value.found.state is links.State.USED


def test_an_expired_link_does_nothing(app, db_session, person):
    path = _fewer_link(db_session, person, now=utcnow() - timedelta(days=8))
    client = app.test_client()
    page = client.get(path)
    assert page.status_code == 410 and "run out" in text(page)
    response = client.post(path, data={"csrf_token": csrf_from(text(client.get("/sign-in")))})
    assert response.status_code == 410
    assert preferences.frequency_of(db_session, person.id) is Frequency.EACH


def test_links_expire_after_seven_days_by_default(app, db_session, person):
    links.make_link(db_session, person, "fewer_emails", {})
    row = db_session.query(ActionLink).one()
    left = as_utc(row.expires_at) - utcnow()
    assert timedelta(days=6, hours=23) < left <= timedelta(days=7)


def test_a_tampered_token_is_unknown(app, db_session, person):
    path = _fewer_link(db_session, person)
    last = path[-1]
    tampered = path[:-1] + ("A" if last != "A" else "B")
    client = app.test_client()
    assert client.get(tampered).status_code == 410
    response = client.post(tampered, data={"csrf_token": csrf_from(text(client.get("/sign-in")))})
    assert response.status_code == 410
    assert preferences.frequency_of(db_session, person.id) is Frequency.EACH
    assert db_session.query(ActionLink).one().used_at is None


def test_a_post_without_the_pages_csrf_token_does_nothing(app, db_session, person):
    path = _fewer_link(db_session, person)
    response = app.test_client().post(path, data={})
    assert response.status_code == 400  # CSRF protection refuses it before the view
    assert preferences.frequency_of(db_session, person.id) is Frequency.EACH


def _money(*_args):
    raise AssertionError("never runs")


def test_an_action_that_moves_money_cannot_be_registered(app):
    with pytest.raises(ValueError, match="never move money"):
        links.register(links.Action("pay_pool_share", "Pay", _money, _money, moves_money=True))
    assert links.lookup("pay_pool_share") is None


def test_a_link_to_an_unregistered_money_action_cannot_be_made_or_used(app, db_session, person):
    with pytest.raises(ValueError):
        links.make_link(db_session, person, "pay_pool_share", {"pool_id": 1})
    # Even a row slipped into the table by hand does nothing.
    raw, hashed = new_token()
    db_session.add(
        ActionLink(
            token_hash=hashed,
            user_id=person.id,
            action="pay_pool_share",
            params={"pool_id": 1},
            expires_at=utcnow() + timedelta(days=1),
        )
    )
    db_session.commit()
    client = app.test_client()
    assert client.get(f"/do/{raw}").status_code == 410
    token = csrf_from(text(client.get("/sign-in")))
    assert client.post(f"/do/{raw}", data={"csrf_token": token}).status_code == 410
    with pytest.raises(links.LinkUnusable):
        links.use(db_session, raw)


def test_a_registered_action_that_fails_leaves_the_link_unused(app, db_session, person):
    path = _fewer_link(db_session, person)
    client = app.test_client()
    page = client.get(path)
    preferences.fewer_emails(db_session, person)  # done on the site meanwhile
    db_session.commit()
    response = client.post(path, data={"csrf_token": csrf_from(text(page))})
    assert response.status_code == 410
    assert "already get one email a week" in text(response)


def test_an_erased_persons_links_do_nothing(app, db_session, person):
    path = _fewer_link(db_session, person)
    person.erased_at = utcnow()
    db_session.commit()
    assert app.test_client().get(path).status_code == 410


def test_the_link_does_not_sign_the_person_in(app, db_session, person):
    path = _fewer_link(db_session, person)
    client = app.test_client()
    assert follow(client, path).status_code == 200
    assert client.get("/account").status_code == 302  # still sent to sign in


def test_actions_check_their_own_rules(app, db_session, person):
    with pytest.raises(DomainError):
        links.lookup("confirm_hours").describe(db_session, person, {"log_id": 999999})
