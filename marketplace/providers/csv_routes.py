"""Spreadsheets in and out: importing listings from CSV, and downloading search results as CSV.

The rules live in ``csv_io``; these views read the upload, call it, and commit.
"""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovSubmitInput
from werkzeug.wrappers import Response as BaseResponse
from wtforms import HiddenField, SubmitField
from wtforms.validators import DataRequired

from marketplace.auth.models import Role
from marketplace.auth.sessions import second_factor_done
from marketplace.extensions import db
from marketplace.organisations import services as organisations
from marketplace.organisations.models import Organisation, OrganisationKind
from marketplace.providers import csv_io, services
from marketplace.providers.indexing import get_index
from marketplace.providers.models import Listing
from marketplace.providers.routes import _query_from
from marketplace.providers.search import SearchQuery
from marketplace.providers.search_form import SearchForm

bp = Blueprint("listing_csv", __name__)

EXCEL_BOM = "\ufeff"  # without it Excel reads UTF-8 as Windows-1252 and mangles "£"
IMPORT_FOLDER = "imports"


class UploadForm(FlaskForm):
    file = FileField(
        "Upload a CSV file",
        widget=GovFileInput(),
        description=f"Up to {csv_io.MAX_ROWS} rows, and smaller than {csv_io.MAX_SIZE_TEXT}.",
        validators=[
            FileRequired(message="Select a CSV file"),
            FileAllowed(["csv"], message="The selected file must be a CSV"),
            FileSize(
                max_size=csv_io.MAX_BYTES,
                message=f"The selected file must be smaller than {csv_io.MAX_SIZE_TEXT}",
            ),
        ],
    )
    submit = SubmitField("Upload and check", widget=GovSubmitInput())


class ImportValidRowsForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


def _org_for_importer_or_404(org_id: int) -> Organisation:
    """A provider organisation this person may import into: its approved staff, or an admin."""
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    if org.kind != OrganisationKind.PROVIDER.value:
        abort(404)
    if organisations.is_staff(db.session, current_user, org):
        return org
    if not current_user.has_role(Role.ADMIN):
        abort(404)
    if not org.is_approved:
        abort(404)
    if not current_user.has_second_factor:
        flash("Set up a second factor before you use admin tools", "info")
        abort(redirect(url_for("account.two_factor", next=request.path)))
    if not second_factor_done():
        abort(redirect(url_for("auth.sign_in_code", next=request.path)))
    return org


def _store() -> csv_io.ImportStore:
    return csv_io.ImportStore(Path(current_app.instance_path) / IMPORT_FOLDER)


def _csv_response(text: str, filename: str) -> Response:
    return Response(
        EXCEL_BOM + text,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def _after_import(org: Organisation, created: list[Listing]) -> BaseResponse:
    count = len(created)
    what = "1 listing imported as a draft" if count == 1 else f"{count} listings imported as drafts"
    flash(f"{what}. Check each one, then send it for approval", "success")
    if organisations.is_staff(db.session, current_user, org):
        return redirect(url_for("provider.listings"))
    return redirect(url_for("listing_csv.upload", org_id=org.id))


def _page(org: Organisation, form: UploadForm, **context: object) -> str:
    return render_template(
        "providers/csv/import.html",
        org=org,
        form=form,
        columns=csv_io.COLUMNS,
        categories=services.all_categories(db.session),
        **context,
    )


@bp.route("/provider/organisations/<int:org_id>/listings/import/template.csv")
@login_required
def template(org_id: int) -> Response:
    org = _org_for_importer_or_404(org_id)
    return _csv_response(csv_io.template_csv(db.session, org), "listings-template.csv")


@bp.route("/provider/organisations/<int:org_id>/listings/import", methods=["GET", "POST"])
@login_required
def upload(org_id: int) -> str | BaseResponse:
    org = _org_for_importer_or_404(org_id)
    form = UploadForm()
    if not form.validate_on_submit():
        return _page(org, form)
    try:
        text = csv_io.decode(form.file.data.read(csv_io.MAX_BYTES + 1))
        created = csv_io.import_listings(db.session, current_user, org, text)
    except csv_io.ImportFileError as error:
        db.session.rollback()
        form.file.errors = [*form.file.errors, *error.messages]
        return _page(org, form)
    except csv_io.ImportHasErrors as problems:
        db.session.rollback()
        checked = problems.checked
        token = _store().save(text, current_user.id, org.id) if checked.valid_count else None
        return _page(
            org,
            form,
            checked=checked,
            filename=form.file.data.filename,
            confirm=ImportValidRowsForm(token=token, formdata=None) if token else None,
        )
    db.session.commit()
    return _after_import(org, created)


@bp.route("/provider/organisations/<int:org_id>/listings/import/valid-rows", methods=["POST"])
@login_required
def import_valid_rows(org_id: int) -> BaseResponse:
    org = _org_for_importer_or_404(org_id)
    form = ImportValidRowsForm()
    store = _store()
    text = (
        store.load(form.token.data or "", current_user.id, org.id)
        if form.validate_on_submit()
        else None
    )
    if text is None:
        flash("That upload has expired or has already been imported. Upload the file again", "info")
        return redirect(url_for("listing_csv.upload", org_id=org.id))
    try:
        created = csv_io.import_listings(db.session, current_user, org, text, only_valid=True)
    except csv_io.ImportFileError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("listing_csv.upload", org_id=org.id))
    db.session.commit()
    store.delete(form.token.data or "")
    return _after_import(org, created)


@bp.route("/services.csv")
def export_services() -> Response:
    form = SearchForm(request.args)
    query = _query_from(form) if request.args else SearchQuery()
    if query is None:
        problems = [message for messages in form.errors.values() for message in messages]
        text = "We could not make that list of services:\n" + "\n".join(
            f"- {problem}" for problem in problems
        )
        return Response(text + "\n", status=400, content_type="text/plain; charset=utf-8")
    hits = csv_io.search_all(get_index(), query)
    text = csv_io.export_csv(
        db.session,
        hits,
        lambda listing: url_for("directory.service", listing_id=listing.id, _external=True),
        with_distance=query.near is not None,
    )
    return _csv_response(text, "services.csv")
