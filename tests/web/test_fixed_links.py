"""The links on every page are built once per process (marketplace/web/template_globals.py)."""

from __future__ import annotations

from flask import Flask, url_for

from marketplace.web import assets, template_globals


def test_each_fixed_link_is_what_url_for_builds(app: Flask):
    with app.test_request_context("/"):
        links = template_globals.fixed_links()
        for endpoint in template_globals.FIXED_ENDPOINTS:
            assert links[endpoint] == url_for(endpoint)
        for name in template_globals.STATIC_FILES:
            assert links[f"static/{name}"] == assets.static_url(name)
            assert links[f"static/{name}"] != url_for("static", filename=name)  # hashed


def test_a_mount_point_gets_its_own_links(app: Flask):
    with app.test_request_context("/", base_url="http://localhost/market"):
        assert template_globals.fixed_links()["pages.home"] == "/market/"
    with app.test_request_context("/"):
        assert template_globals.fixed_links()["pages.home"] == "/"


def test_pages_show_them(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/services"' in html  # the menu
    assert 'href="/static/css/app.' in html
    assert 'href="/static/css/app.css"' not in html  # the hashed name, which may be cached
    assert 'action="/sign-out"' not in html  # signed out: sign in instead
    assert 'href="/sign-in"' in html
