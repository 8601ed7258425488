"""A source database filled with the demo world and some awkward values, for backing up."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace import migrations
from marketplace.auth.models import User
from marketplace.db import make_engine
from marketplace.demo import seed
from marketplace.organisations.models import Organisation
from marketplace.payments.localstripe_server import free_port
from marketplace.places.models import Council
from marketplace.providers.models import Listing, ListingStatus
from tests.conftest import reset_schema, separate_database

# Text that breaks naive dumps: every script, quotes and backslashes (COPY's escape), tabs and
# newlines (COPY's separators), a \N (COPY's NULL marker, here as plain text) and an emoji.
AWKWARD = "Ynys Môn — 日本語 עברית 🧠 \"quoted\" 'it''s' back\\slash \\N tab\there\nnew line"
LARGE = ("Ceci n'est pas une pipe. 🧠\n" * 40_000)[:1_000_000]  # about 1 MB of text


@dataclass(frozen=True)
class Source:
    url: str
    published_listings: int


@pytest.fixture(scope="package")
def source(app: Flask) -> Iterator[Source]:
    """A database of its own with the demo world and awkward rows, committed."""
    url, drop = separate_database("src")
    reset_schema(url)
    engine = make_engine(url)
    previous = app.config["STRIPE_API_BASE"]
    # No Stripe here: the demo then leaves out its one fee offer instead of calling anybody's
    # localstripe on the default port.
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{free_port()}"
    try:
        with app.app_context(), Session(bind=engine) as session:
            seed.seed(session, random.Random(8))
            _add_awkward_rows(session)
            session.commit()
            published = len(
                session.scalars(
                    select(Listing.id).where(Listing.status == ListingStatus.PUBLISHED.value)
                ).all()
            )
    finally:
        app.config["STRIPE_API_BASE"] = previous
        engine.dispose()
    yield Source(url, published)
    drop()


def _add_awkward_rows(session: Session) -> None:
    session.add(Council(code="W06000001", name=AWKWARD[:120]))
    session.add(
        Organisation(
            name="",  # empty, which must stay distinct from NULL
            kind="provider",
            description=LARGE,
            website=None,
            public_email=None,
            public_phone="",
            rejection_reason=AWKWARD,
        )
    )
    session.add(
        User(
            email="ünïcödé@exämple.org",
            display_name="Zoë 🧠 O'Brien-\\",
            password_hash="x",
            usage_intent="holder",
            support_needs=AWKWARD + LARGE[:10_000],
            totp_secret=None,
        )
    )
    session.flush()


@pytest.fixture
def empty_database() -> Iterator[Callable[[str], str]]:
    """Makes fresh, empty databases (no tables at all) and drops them after the test."""
    drops = []

    def make(suffix: str) -> str:
        url, drop = separate_database(suffix)
        drops.append(drop)
        return url

    yield make
    for drop in drops:
        drop()


def first_revision() -> str:
    """The oldest migration: a schema older than the code's, as an old backup would have."""
    script = ScriptDirectory.from_config(migrations.alembic_config("sqlite://"))
    return list(script.walk_revisions())[-1].revision
