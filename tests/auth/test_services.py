"""Account rules, without HTTP."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from marketplace.auth import services
from marketplace.auth.models import Role, UsageIntent
from marketplace.db import utcnow
from marketplace.errors import DomainError
from tests.factories import PASSWORD, UserFactory


def registration(**overrides):
    values = {
        "display_name": "  Robin  ",
        "email": " Robin@Example.org ",
        "password": "a long enough password",
        "usage_intent": UsageIntent.HOLDER,
    }
    return services.Registration(**{**values, **overrides})


def test_register_stores_normalised_email_and_role(db_session):
    user = services.register(db_session, registration())
    assert user.email == "robin@example.org"
    assert user.display_name == "Robin"
    assert user.has_role(Role.HOLDER)
    assert user.password_hash.startswith("$argon2id$")


def test_register_carer_gets_carer_role_and_staff_get_no_role_until_approved(db_session):
    carer = services.register(
        db_session, registration(email="c@example.org", usage_intent=UsageIntent.CARER)
    )
    staff = services.register(
        db_session, registration(email="p@example.org", usage_intent=UsageIntent.PROVIDER)
    )
    assert carer.has_role(Role.CARER)
    assert staff.roles == []


def test_register_refuses_an_email_already_used_whatever_its_case(db_session):
    UserFactory(email="robin@example.org")
    with pytest.raises(DomainError) as error:
        services.register(db_session, registration(email="ROBIN@example.org"))
    assert error.value.field == "email"


@pytest.mark.parametrize("password", ["short", "aaaaaaaaaaaa"])
def test_register_refuses_weak_passwords(db_session, password):
    with pytest.raises(DomainError) as error:
        services.register(db_session, registration(password=password))
    assert error.value.field == "password"


def test_authenticate_accepts_right_password_only(db_session):
    user = UserFactory(email="a@example.org")
    assert services.authenticate(db_session, "A@example.org", PASSWORD) == user
    assert services.authenticate(db_session, "a@example.org", "wrong password!") is None
    assert services.authenticate(db_session, "nobody@example.org", PASSWORD) is None


def test_authenticate_upgrades_a_hash_made_with_older_settings(db_session):
    from argon2 import PasswordHasher

    old_hash = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4).hash(PASSWORD)
    user = UserFactory(email="a@example.org", password_hash=old_hash)

    assert services.authenticate(db_session, "a@example.org", "wrong password!") is None
    assert user.password_hash == old_hash  # only the right password may replace it

    assert services.authenticate(db_session, "a@example.org", PASSWORD) == user
    assert user.password_hash != old_hash
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert services.authenticate(db_session, "a@example.org", PASSWORD) == user


def test_authenticate_refuses_erased_accounts(db_session):
    user = UserFactory(email="a@example.org")
    user.erased_at = utcnow()
    assert services.authenticate(db_session, "a@example.org", PASSWORD) is None


def test_reset_token_works_once_and_spends_other_tokens(db_session):
    user = UserFactory(email="a@example.org")
    _, first = services.start_password_reset(db_session, "a@example.org", 3600)
    _, second = services.start_password_reset(db_session, "a@example.org", 3600)
    version = user.session_version
    services.complete_password_reset(db_session, second, "a brand new password")
    assert services.authenticate(db_session, "a@example.org", "a brand new password") == user
    assert user.session_version == version + 1
    for token in (first, second):
        assert not services.reset_token_is_valid(db_session, token)
        with pytest.raises(DomainError):
            services.complete_password_reset(db_session, token, "another new password")


def test_a_new_reset_request_spends_the_earlier_link(db_session):
    UserFactory(email="a@example.org")
    _, first = services.start_password_reset(db_session, "a@example.org", 3600)
    _, second = services.start_password_reset(db_session, "a@example.org", 3600)
    assert not services.reset_token_is_valid(db_session, first)
    assert services.reset_token_is_valid(db_session, second)


def test_a_password_change_spends_open_reset_links(db_session):
    user = UserFactory(email="a@example.org")
    _, token = services.start_password_reset(db_session, "a@example.org", 3600)
    services.change_password(db_session, user, PASSWORD, "a brand new password")
    assert not services.reset_token_is_valid(db_session, token)
    with pytest.raises(DomainError):
        services.complete_password_reset(db_session, token, "the attacker's password")


def test_an_email_change_spends_open_reset_links(db_session):
    user = UserFactory(email="a@example.org")
    _, token = services.start_password_reset(db_session, "a@example.org", 3600)
    links = services.request_email_change(db_session, user, "b@example.org", PASSWORD)
    services.confirm_email_change(db_session, links.confirm_token)
    assert not services.reset_token_is_valid(db_session, token)


def test_reset_token_expires(db_session):
    UserFactory(email="a@example.org")
    _, token = services.start_password_reset(db_session, "a@example.org", 3600)
    assert services.reset_token_is_valid(db_session, token)
    from marketplace.auth.models import PasswordResetToken

    row = db_session.query(PasswordResetToken).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    assert not services.reset_token_is_valid(db_session, token)


def test_reset_for_unknown_email_creates_nothing(db_session):
    assert services.start_password_reset(db_session, "nobody@example.org", 3600) is None


def test_change_password_checks_current_and_ends_sessions(db_session):
    user = UserFactory()
    with pytest.raises(DomainError) as error:
        services.change_password(db_session, user, "not it at all", "a brand new password")
    assert error.value.field == "current_password"
    version = user.session_version
    services.change_password(db_session, user, PASSWORD, "a brand new password")
    assert user.session_version == version + 1


def test_change_details_keeps_name_and_note(db_session):
    user = UserFactory(email="mine@example.org")
    services.change_details(db_session, user, " New name ", "  ")
    assert (user.display_name, user.email, user.support_needs) == (
        "New name",
        "mine@example.org",
        None,
    )


def test_an_email_change_needs_the_current_password_and_a_free_address(db_session):
    UserFactory(email="taken@example.org")
    user = UserFactory(email="mine@example.org")
    with pytest.raises(DomainError) as error:
        services.request_email_change(db_session, user, "new@example.org", "")
    assert error.value.field == "current_password"
    with pytest.raises(DomainError) as error:
        services.request_email_change(db_session, user, "Taken@example.org", PASSWORD)
    assert error.value.field == "email"
    assert services.request_email_change(db_session, user, " Mine@example.org", "") is None


def test_the_email_changes_only_when_the_link_to_the_new_address_is_followed(db_session):
    user = UserFactory(email="mine@example.org")
    links = services.request_email_change(db_session, user, "New@example.org", PASSWORD)
    assert user.email == "mine@example.org"
    assert services.confirm_email_change(db_session, links.confirm_token) == user
    assert user.email == "new@example.org"
    with pytest.raises(DomainError):  # once only
        services.confirm_email_change(db_session, links.confirm_token)


def test_only_the_newest_email_change_link_works(db_session):
    user = UserFactory(email="mine@example.org")
    first = services.request_email_change(db_session, user, "one@example.org", PASSWORD)
    services.request_email_change(db_session, user, "two@example.org", PASSWORD)
    assert services.email_change_to_confirm(db_session, first.confirm_token) is None


def test_an_email_change_link_expires_after_24_hours(db_session):
    user = UserFactory(email="mine@example.org")
    links = services.request_email_change(db_session, user, "new@example.org", PASSWORD)
    links.change.confirm_expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(DomainError):
        services.confirm_email_change(db_session, links.confirm_token)
    assert user.email == "mine@example.org"


def test_this_was_not_me_puts_the_old_address_back_and_ends_every_session(db_session):
    user = UserFactory(email="mine@example.org")
    links = services.request_email_change(db_session, user, "thief@example.org", PASSWORD)
    services.confirm_email_change(db_session, links.confirm_token)
    _, reset = services.start_password_reset(db_session, "thief@example.org", 3600)
    version = user.session_version
    assert services.undo_email_change(db_session, links.undo_token) == user
    assert user.email == "mine@example.org"
    assert user.session_version == version + 1
    assert not services.reset_token_is_valid(db_session, reset)
    assert services.email_change_to_undo(db_session, links.undo_token) is None  # once only


def test_this_was_not_me_before_the_change_stops_it(db_session):
    user = UserFactory(email="mine@example.org")
    links = services.request_email_change(db_session, user, "thief@example.org", PASSWORD)
    services.undo_email_change(db_session, links.undo_token)
    assert services.email_change_to_confirm(db_session, links.confirm_token) is None
    assert user.email == "mine@example.org"


def test_second_factor_needs_a_right_code(db_session):
    user = UserFactory()
    secret = services.new_totp_secret()
    with pytest.raises(DomainError):
        services.enable_second_factor(
            user, secret, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
        )
    now = utcnow()
    services.enable_second_factor(user, secret, pyotp.TOTP(secret).at(now))
    assert user.has_second_factor
    assert services.use_totp(user, pyotp.TOTP(secret).at(now + timedelta(seconds=30)))
    with pytest.raises(DomainError):
        services.disable_second_factor(user, "wrong password!")
    services.disable_second_factor(user, PASSWORD)
    assert not user.has_second_factor


def test_a_second_factor_code_works_once(db_session):
    secret = services.new_totp_secret()
    user = UserFactory(totp_secret=secret, totp_enabled_at=utcnow())
    now = utcnow()
    code = pyotp.TOTP(secret).at(now)
    assert services.use_totp(user, code, now)
    assert not services.use_totp(user, code, now)
    assert not services.use_totp(user, code, now + timedelta(seconds=10))
    # Nor an older code still inside the drift window.
    assert not services.use_totp(user, pyotp.TOTP(secret).at(now - timedelta(seconds=30)), now)
    later = now + timedelta(seconds=30)
    assert services.use_totp(user, pyotp.TOTP(secret).at(later), later)


def test_the_code_that_turns_the_second_factor_on_cannot_sign_in(db_session):
    user = UserFactory()
    secret = services.new_totp_secret()
    now = utcnow()
    code = pyotp.TOTP(secret).at(now)
    services.enable_second_factor(user, secret, code)
    assert not services.use_totp(user, code, now)
