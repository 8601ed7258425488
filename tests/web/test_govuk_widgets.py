"""GOV.UK form widgets rendered without Flask's per-field context work, and kept when safe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, render_template
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput, GovTextInput
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import Length

from marketplace.web import govuk_widgets

SELECT = "govuk_frontend_wtf/select.html"
INPUT = "govuk_frontend_wtf/input.html"


class _Form(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search", widget=GovTextInput(), validators=[Length(max=5, message="Too long")])
    sort = SelectField(
        "Sort by",
        widget=GovSelect(),
        choices=[SelectChoice("a", "A to Z"), SelectChoice("b", "Best match")],
        default="a",
    )
    go = SubmitField("Search", widget=GovSubmitInput())


@pytest.fixture
def request_context(app: Flask) -> Iterator[None]:
    govuk_widgets.clear_cache()
    with app.test_request_context("/"):
        yield
    govuk_widgets.clear_cache()


def test_the_html_is_what_the_library_draws(request_context):
    text = {"id": "q", "name": "q", "label": {"text": "Search"}, "value": "gym", "type": "text"}
    select = {
        "id": "sort",
        "name": "sort",
        "label": {"text": "Sort by"},
        "items": [
            {"text": "A to Z", "value": "a", "selected": False},
            {"text": "Best match", "value": "b", "selected": True},
        ],
    }
    for template, params in ((INPUT, text), (SELECT, select), (SELECT, select)):
        # govuk-frontend-wtf's own way: Flask's render_template, context processors and all.
        assert govuk_widgets.render_widget(template, params) == render_template(
            template, params=params
        )
    assert '<option value="b" selected>Best match</option>' in str(
        _Form(MultiDict({"sort": "b"})).sort()
    )


def test_choices_and_empty_boxes_are_kept_but_typed_text_never(request_context):
    assert govuk_widgets.cacheable(SELECT, {"name": "sort", "items": []})
    assert govuk_widgets.cacheable("govuk_frontend_wtf/button.html", {"text": "Search"})
    assert govuk_widgets.cacheable(INPUT, {"name": "q", "value": ""})
    assert govuk_widgets.cacheable(INPUT, {"name": "q", "value": None})
    assert not govuk_widgets.cacheable(INPUT, {"name": "q", "value": "my diagnosis"})
    assert not govuk_widgets.cacheable(
        SELECT, {"name": "sort", "errorMessage": {"text": "Choose one"}}
    )
    assert not govuk_widgets.cacheable("govuk_frontend_wtf/password.html", {"value": ""})


def test_typed_text_is_not_kept_in_the_cache(request_context):
    form = _Form(MultiDict({"q": "walk"}))
    form.validate()
    assert 'value="walk"' in str(form.q())
    assert not any("walk" in str(key) for key in govuk_widgets._cache)


def test_a_kept_select_still_follows_the_selected_choice(request_context):
    first = str(_Form(MultiDict({"sort": "a"})).sort())
    second = str(_Form(MultiDict({"sort": "b"})).sort())
    again = str(_Form(MultiDict({"sort": "a"})).sort())
    assert '<option value="a" selected>' in first
    assert '<option value="b" selected>' in second
    assert again == first
    assert len(govuk_widgets._cache) == 2


def test_errors_show_on_the_field(request_context):
    form = _Form(MultiDict({"q": "far too long"}))
    assert not form.validate()
    html = str(form.q())
    assert "Too long" in html
    assert "govuk-input--error" in html


def test_markup_and_plain_text_are_told_apart():
    assert govuk_widgets._frozen(Markup("<b>x</b>")) != govuk_widgets._frozen("<b>x</b>")
    assert govuk_widgets._frozen({"a": [1, True]}) != govuk_widgets._frozen({"a": [1, 1]})
    with pytest.raises(govuk_widgets._Unhashable):
        govuk_widgets._frozen(object())


def test_a_page_of_forms_renders_through_it(client):
    html = client.get("/services").get_data(as_text=True)
    assert 'id="q"' in html
    assert "Apply filters" in html
