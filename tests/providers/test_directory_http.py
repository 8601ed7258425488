"""The directory through HTTP: listing a service, moderating it, finding it, and bad input."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace.moderation.models import ModerationItem
from marketplace.providers.models import Listing, ListingStatus
from tests.helpers import post, sign_in
from tests.listing_helpers import category_ids, provider_with_staff, ulo_moderator

LEEDS = "E08000035"


@pytest.fixture
def leeds(db_session):
    from tests.factories import CouncilFactory

    return CouncilFactory(code=LEEDS, name="Leeds")


def listing_form(db_session, council, **overrides):
    form = {
        "name": "Hearing voices peer group",
        "summary": "A weekly group for people who hear voices.",
        "description": "Tea, biscuits and understanding.",
        "category_ids": [str(i) for i in category_ids(db_session, "peer-support")],
        "delivery_modes": ["in_person"],
        "council_ids": [str(council.id)],
        "postcode": "ls1 1ur",
        "radius_miles": "5",
        "languages": ["English"],
        "specialism": "mental_health",
        "takes_direct_payments": "y",
        "price1_amount": "4.50",
        "price1_unit": "session",
        "price1_label": "",
        "price2_amount": "",
        "price2_unit": "",
        "price3_amount": "",
        "price3_unit": "",
    }
    form.update(overrides)
    return form


def test_provider_lists_moderator_publishes_holder_finds(app, client, db_session, leeds):
    org, staff, _ = provider_with_staff(leeds)
    moderator = ulo_moderator(leeds)
    db_session.commit()
    sign_in(client, staff)
    response = post(
        client, f"/provider/organisations/{org.id}/listings/new", listing_form(db_session, leeds)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    listing = db_session.scalars(select(Listing)).one()
    assert listing.min_price_pence == 450
    assert listing.postcode == "LS1 1UR"
    assert app.test_client().get(f"/services/{listing.id}").status_code == 404
    post(
        client,
        f"/provider/listings/{listing.id}/submit",
        token_from=f"/provider/listings/{listing.id}",
    )

    mod = app.test_client()
    sign_in(mod, moderator)
    item = db_session.scalars(select(ModerationItem)).one()
    assert "Hearing voices peer group" in mod.get("/moderation").get_data(as_text=True)
    response = post(mod, f"/moderation/items/{item.id}", {"decision": "approve"})
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Listing, listing.id).status == ListingStatus.PUBLISHED.value

    visitor = app.test_client()
    html = visitor.get("/services?q=voices&postcode=LS1+3AD&within=5&sort=distance").get_data(
        as_text=True
    )
    assert "Hearing voices peer group" in html
    assert "miles away" in html
    page = visitor.get(f"/services/{listing.id}").get_data(as_text=True)
    assert "£4.50 per session" in page


def test_form_errors_are_shown_beside_fields_and_input_kept(client, db_session, leeds):
    org, staff, _ = provider_with_staff(leeds)
    db_session.commit()
    sign_in(client, staff)
    bad = listing_form(
        db_session,
        leeds,
        summary="x" * 200,
        price1_amount="twelve quid",
        postcode="ZZ99 9ZZ",
        radius_miles="-4",
        name="<script>alert(1)</script>",
    )
    html = post(client, f"/provider/organisations/{org.id}/listings/new", bad).get_data(
        as_text=True
    )
    assert "Summary must be 160 characters or fewer" in html
    assert "Enter an amount in pounds, like 12.50" in html
    assert "Distance must be between 1 and 200 miles" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert db_session.scalars(select(Listing)).all() == []
    good_but_unknown_postcode = listing_form(db_session, leeds, postcode="ZZ99 9ZZ")
    html = post(
        client, f"/provider/organisations/{org.id}/listings/new", good_but_unknown_postcode
    ).get_data(as_text=True)
    assert re.search(r"postcode", html, re.I)
    assert 'href="#postcode"' in html


def test_staff_of_provider_a_cannot_touch_provider_b(app, client, db_session, leeds):
    org_a, staff_a, _ = provider_with_staff(leeds)
    org_b, staff_b, _ = provider_with_staff(leeds)
    db_session.commit()
    sign_in(client, staff_a)
    post(
        client, f"/provider/organisations/{org_a.id}/listings/new", listing_form(db_session, leeds)
    )
    listing = db_session.scalars(select(Listing)).one()
    other = app.test_client()
    sign_in(other, staff_b)
    assert other.get(f"/provider/listings/{listing.id}").status_code == 404
    assert other.get(f"/provider/listings/{listing.id}/edit").status_code == 404
    response = post(
        other,
        f"/provider/listings/{listing.id}/edit",
        listing_form(db_session, leeds, name="Hijacked"),
        token_from="/provider/listings",
    )
    assert response.status_code == 404
    assert other.get(f"/provider/organisations/{org_a.id}/listings/new").status_code == 404
    db_session.expire_all()
    assert db_session.get(Listing, listing.id).name == "Hearing voices peer group"


@pytest.mark.parametrize(
    "query",
    [
        "q=" + "a" * 10_000,
        "page=-1",
        "page=1000000000",
        "max_price=lots",
        "postcode=ZZ99+9ZZ",
        "postcode=not+a+postcode",
        "within=-5&postcode=LS1+1UR",
        "sort=nonsense",
        "q=%22((+AND+OR+name:*+~~",
        "category=no-such-category&council=XYZ",
    ],
)
def test_bad_search_input_never_errors(client, query):
    response = client.get(f"/services?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "There is a problem" in html or "service" in html


def test_unknown_postcode_is_reported_beside_the_field(client):
    html = client.get("/services?postcode=ZZ99+9ZZ").get_data(as_text=True)
    assert "There is a problem" in html
    assert 'href="#postcode"' in html


def publish(app, db_session, org, staff, data):
    from marketplace.providers.services import create_listing

    # After a request the test's objects belong to an ended session: load them afresh.
    org = db_session.get(type(org), org.id)
    staff = db_session.get(type(staff), staff.id)
    listing = create_listing(db_session, staff, org, data)
    listing.status = ListingStatus.PUBLISHED.value
    with app.app_context():  # the search index is updated after the commit, for this app
        db_session.commit()
    return listing


def test_a_postcode_search_keeps_online_services_for_the_area_and_says_which(
    app, client, db_session, leeds
):
    from tests.factories import CouncilFactory
    from tests.listing_helpers import listing_data

    bristol = CouncilFactory(code="E06000023", name="Bristol")
    org, staff, _ = provider_with_staff(leeds)
    db_session.commit()
    sign_in(client, staff)
    # The form's promise: "People anywhere in England will find it when they search near
    # their postcode."
    form_page = client.get(f"/provider/organisations/{org.id}/listings/new").get_data(as_text=True)
    assert "People anywhere in England will find it when they search near their postcode." in (
        form_page
    )
    national_form = listing_form(
        db_session,
        leeds,
        name="Online befriending calls",
        summary="A weekly video call with a volunteer befriender.",
        delivery_modes=["online", "phone"],
        council_ids=[],
        postcode="",
        radius_miles="",
        serves_nationally="y",
    )
    response = post(client, f"/provider/organisations/{org.id}/listings/new", national_form)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    national = db_session.scalars(select(Listing)).one()
    assert national.serves_nationally
    national.status = ListingStatus.PUBLISHED.value
    with app.app_context():
        db_session.commit()
    publish(
        app,
        db_session,
        org,
        staff,
        listing_data(
            db_session,
            bristol,
            name="Befriending by phone for Bristol",
            delivery_modes=("phone",),
        ),
    )
    publish(
        app,
        db_session,
        org,
        staff,
        listing_data(db_session, leeds, name="Befriending cafe in Leeds", postcode="LS1 1UR"),
    )

    visitor = app.test_client()
    html = visitor.get("/services?q=befriending&postcode=BS1+5TR&within=50").get_data(as_text=True)
    assert "Online befriending calls" in html
    assert "Befriending by phone for Bristol" in html
    assert "Befriending cafe in Leeds" not in html  # in person, 170 miles away
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert (
        "Services within 50 miles of BS1 5TR, and services online or by phone for people in "
        "Bristol or anywhere in England." in text
    )
    assert "Online or by phone , for anyone in England" in text
    assert "Online or by phone , for people in Bristol" in text

    near_leeds = visitor.get(
        "/services?q=befriending&postcode=LS1+3AD&within=5&delivery=online"
    ).get_data(as_text=True)
    assert "Online befriending calls" in near_leeds
    assert "Befriending by phone for Bristol" not in near_leeds
    on_service_page = visitor.get(f"/services/{national.id}").get_data(as_text=True)
    assert "Anyone in England, online or by phone" in on_service_page


def test_a_service_for_all_of_england_must_be_online_or_by_phone(client, db_session, leeds):
    org, staff, _ = provider_with_staff(leeds)
    db_session.commit()
    sign_in(client, staff)
    html = post(
        client,
        f"/provider/organisations/{org.id}/listings/new",
        listing_form(db_session, leeds, serves_nationally="y"),
    ).get_data(as_text=True)
    assert "A service for anyone in England must be offered online or by phone" in html
    assert 'href="#serves_nationally"' in html
    assert db_session.scalars(select(Listing)).all() == []


def page_text(html):
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    return re.sub(r" ([.,])", r"\1", text)


@pytest.fixture
def two_listings(app, db_session, leeds):
    from marketplace.providers.services import PriceOption
    from tests.listing_helpers import listing_data

    org, staff, _ = provider_with_staff(leeds)
    db_session.commit()
    group = publish(
        app,
        db_session,
        org,
        staff,
        listing_data(
            db_session,
            leeds,
            name="Voices peer group",
            postcode="LS1 1UR",
            prices=(PriceOption(450, "session", "per person"), PriceOption(0, "free", "first")),
        ),
    )
    walk = publish(
        app, db_session, org, staff, listing_data(db_session, leeds, name="Voices walking group")
    )
    return group, walk


def test_the_search_button_sits_by_the_box_and_filters_fold_away(client, two_listings):
    html = client.get("/services").get_data(as_text=True)
    box = html.index('name="q"')
    button = html.index(">Search</button>")
    filters = html.index("<details")
    assert box < html.index('name="postcode"') < button < filters
    assert '<summary class="govuk-details__summary">' in html
    assert "Filter</span>" in html
    assert ">Apply filters</button>" in html[filters:]
    assert '<option value="1">1 mile</option>' in html
    assert "1 miles" not in html
    chosen = client.get("/services?category=peer-support&dp=y").get_data(as_text=True)
    assert "Filter (2 chosen)" in chosen
    # An error in a folded field opens the filters, so the message beside it can be seen.
    bad_price = client.get("/services?max_price=lots").get_data(as_text=True)
    assert '<details class="govuk-details" data-app-open-on-wide open>' in bad_price


def test_sort_has_a_button_for_pages_without_javascript(client, two_listings):
    html = client.get("/services?q=voices").get_data(as_text=True)
    assert "data-app-submit-on-change" in html[html.index('name="sort"') - 300 :]
    assert ">Sort</button>" in html
    by_price = client.get("/services?q=voices&sort=price").get_data(as_text=True)
    assert by_price.index("Voices peer group") < by_price.index("Voices walking group")


def test_back_to_search_returns_to_the_same_search(client, two_listings):
    group, _walk = two_listings
    search = "q=voices&postcode=LS1+3AD&within=5&sort=distance&page=1"
    html = client.get(f"/services?{search}").get_data(as_text=True)
    link = re.search(rf'href="(/services/{group.id}\?[^"]+)"', html).group(1)
    service = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    back = re.search(r'href="([^"]*)" class="govuk-back-link">Back to search', service).group(1)
    assert back.replace("&amp;", "&") == f"/services?{search}"
    # Straight to a service page (no search): back to a fresh search.
    direct = client.get(f"/services/{group.id}").get_data(as_text=True)
    assert 'href="/services" class="govuk-back-link"' in direct


def test_a_listing_with_several_prices_shows_them_on_separate_lines(client, two_listings):
    group, _walk = two_listings
    html = client.get(f"/services/{group.id}").get_data(as_text=True)
    assert "£4.50 per session – per person<br>Free – first" in html
    assert "&lt;br&gt;" not in html


def test_a_page_past_the_end_says_so(client, two_listings):
    text = page_text(client.get("/services?q=voices&page=9999").get_data(as_text=True))
    assert "2 services found" in text
    assert "There is no page 9999: these results fill 1 page. Go to the first page." in text
    assert "No services match" not in text


def test_an_empty_result_names_the_areas_covered_and_only_fitting_advice(
    app, client, db_session, two_listings
):
    text = page_text(client.get("/services?q=zzzzqqq").get_data(as_text=True))
    assert "No services match. Try fewer words or another spelling." in text
    assert "The directory has services for people in Leeds." in text
    assert "Try fewer filters" not in text and "greater distance" not in text

    text = page_text(client.get("/services?postcode=BS1+5TR&within=1").get_data(as_text=True))
    assert "No services match. Try a greater distance." in text
    assert "Try fewer words" not in text
    assert "The directory has services for people in Leeds." in text

    group, _walk = two_listings
    group = db_session.get(Listing, group.id)
    group.serves_nationally = True
    group.delivery_modes = "in_person,online"
    with app.app_context():
        db_session.commit()
    text = page_text(client.get("/services?q=zzzzqqq&dp=y").get_data(as_text=True))
    assert "No services match. Try fewer words or another spelling. Try fewer filters." in text
    assert (
        "The directory has services for people in Leeds, and services online or by phone for "
        "anyone in England." in text
    )
