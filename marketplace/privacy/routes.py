"""Your data: download it, or delete your account."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response as BaseResponse

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.privacy import services
from marketplace.privacy.forms import REMOVE, DeleteAccountForm
from marketplace.web.forms import add_error

bp = Blueprint("privacy", __name__, url_prefix="/account")


@bp.route("/your-data")
@login_required
def your_data() -> str:
    # Other packages add their parts (casework: the person's requests and complaints).
    return render_template(
        "privacy/your_data.html", **services.page_sections(db.session, current_user)
    )


@bp.route("/your-data/download")
@login_required
def download() -> Response:
    data = services.export_user_data(db.session, current_user._get_current_object())
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": "attachment; filename=my-data.json"},
    )


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete() -> str | BaseResponse:
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            services.erase_account(
                db.session,
                current_user._get_current_object(),
                form.password.data or "",
                remove_contributions=form.contributions.data == REMOVE,
            )
        except DomainError as error:
            add_error(form, error)
        else:
            db.session.commit()
            logout_user()
            flash("Your account and personal details have been deleted", "success")
            return redirect(url_for("pages.home"))
    return render_template("privacy/delete.html", form=form)
