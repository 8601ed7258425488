"""Static files: hashed names cached for a year, compressed copies, served in front of Flask
(marketplace/web/assets.py)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli

from marketplace.web import assets

PROJECT_STATIC = Path(__file__).resolve().parents[2] / "static"


def _linked(html: str, pattern: str) -> str:
    match = re.search(pattern, html)
    assert match, pattern
    return match.group(1)


def test_the_page_links_hashed_names_that_are_cached_for_a_year(client):
    html = client.get("/").get_data(as_text=True)
    stylesheet = _linked(html, r'rel="stylesheet" href="(/static/css/app\.[0-9a-f]{12}\.css)"')
    response = client.get(stylesheet)
    assert response.status_code == 200
    cache = response.headers["Cache-Control"]
    assert "immutable" in cache and "public" in cache
    assert int(cache.split("max-age=")[1].split(",")[0]) >= 365 * 24 * 3600
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data() == (PROJECT_STATIC / "css/app.css").read_bytes()
    response.close()


def test_a_browser_that_accepts_compression_gets_a_compressed_copy(client):
    html = client.get("/").get_data(as_text=True)
    stylesheet = _linked(html, r'href="(/static/css/app\.[0-9a-f]{12}\.css)"')
    original = (PROJECT_STATIC / "css/app.css").read_bytes()
    with_brotli = client.get(stylesheet, headers={"Accept-Encoding": "gzip, br"})
    assert with_brotli.headers["Content-Encoding"] == "br"
    assert brotli.decompress(with_brotli.get_data()) == original
    assert len(with_brotli.get_data()) < len(original) / 4
    with_gzip = client.get(stylesheet, headers={"Accept-Encoding": "gzip"})
    assert with_gzip.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(with_gzip.get_data()) == original
    for response in (with_brotli, with_gzip):
        assert "Accept-Encoding" in response.headers["Vary"]
        response.close()


def test_the_script_imports_gov_uk_frontend_by_its_hashed_name(client):
    html = client.get("/").get_data(as_text=True)
    script = _linked(html, r'<script type="module" src="(/static/js/app\.[0-9a-f]{12}\.js)"')
    response = client.get(script)
    body = response.get_data(as_text=True)
    response.close()
    imported = _linked(body, r"from '(/static/govuk/govuk-frontend\.min\.[0-9a-f]{12}\.js)'")
    library = client.get(imported)
    assert library.status_code == 200
    assert "immutable" in library.headers["Cache-Control"]
    library.close()


def test_the_classes_gov_uk_styles_need_are_set_before_anything_paints(client):
    """supported.js is a plain (blocking) script first in <body>, before the page's content,
    so the menu and filters never move once shown (the layout shift Lighthouse measured)."""
    html = client.get("/").get_data(as_text=True)
    body = html[html.index("<body") :]
    first_script = _linked(body, r"<script ([^>]*)>")
    assert re.fullmatch(r'src="/static/js/supported\.[0-9a-f]{12}\.js"', first_script)
    assert body.index("supported.") < body.index("govuk-skip-link")
    script = client.get(f"/static/js/supported.{first_script.split('.')[1]}.js")
    assert "govuk-frontend-supported" in script.get_data(as_text=True)
    script.close()


def test_plain_names_still_work_with_a_short_cache(client):
    response = client.get("/static/css/receipt-print.css")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == f"max-age={assets.PLAIN_MAX_AGE}, public"
    response.close()
    assert client.get("/static/src/app.scss").status_code == 404  # sources are not served


def test_a_changed_file_gets_a_new_name_and_the_old_copy_stays(tmp_path: Path):
    source, build = tmp_path / "static", tmp_path / "build"
    (source / "css").mkdir(parents=True)
    (source / "css/site.css").write_text("body{color:red}")
    first = assets.Assets(source=source, build=build)
    assets.build_all(first)
    old_name = first.name_of("css/site.css")
    (source / "css/site.css").write_text("body{color:blue}")
    second = assets.Assets(source=source, build=build)
    assets.build_all(second)
    new_name = second.name_of("css/site.css")
    assert new_name != old_name
    # A page rendered before the release may still ask for the old name.
    assert (build / old_name).read_text() == "body{color:red}"
    assert (build / new_name).read_text() == "body{color:blue}"
    assert (build / "css/site.css").read_text() == "body{color:blue}"
    assert gzip.decompress((build / f"{new_name}.gz").read_bytes()) == b"body{color:blue}"


def test_in_development_an_edited_file_gets_its_new_name(tmp_path: Path):
    source = tmp_path / "static"
    (source / "js").mkdir(parents=True)
    (source / "js/a.js").write_text("one")
    local = assets.Assets(source=source, build=tmp_path / "build")
    assets.build_all(local)
    before = local.name_of("js/a.js")
    (source / "js/a.js").write_text("two, longer")
    assets._refresh(local, "js/a.js")
    assert local.name_of("js/a.js") != before
