"""Admin pages: approving organisations and reading the audit log. Second factor required."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from marketplace.admin.forms import CategoryForm
from marketplace.auth.access import admin_required
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.moderation.audit import AuditEntry
from marketplace.organisations import services as organisations
from marketplace.organisations.forms import DecisionForm
from marketplace.organisations.models import Organisation
from marketplace.providers.categories import add_category, update_category
from marketplace.providers.models import Category
from marketplace.providers.services import all_categories
from marketplace.web.forms import add_error

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/organisations")
@admin_required
def organisations_queue() -> str:
    return render_template(
        "admin/organisations.html", pending=organisations.pending_organisations(db.session)
    )


@bp.route("/organisations/<int:org_id>", methods=["GET", "POST"])
@admin_required
def decide_organisation(org_id: int) -> str | Response:
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            organisations.decide_organisation(
                db.session,
                current_user,
                org,
                approve=form.decision.data == "approve",
                reason=form.reason.data or "",
            )
        except DomainError as error:
            db.session.rollback()
            add_error(form, error)
        else:
            db.session.commit()
            flash(f"Decision saved for {org.name}", "success")
            return redirect(url_for("admin.organisations_queue"))
    return render_template("admin/organisation_decision.html", org=org, form=form)


@bp.route("/audit")
@admin_required
def audit_log() -> str:
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(200))
    return render_template("admin/audit.html", entries=list(entries))


@bp.route("/categories", methods=["GET", "POST"])
@admin_required
def categories() -> str | Response:
    form = CategoryForm(position=len(all_categories(db.session)))
    if form.validate_on_submit():
        try:
            add_category(
                db.session,
                current_user,
                form.name.data or "",
                form.description.data or "",
                form.position.data or 0,
            )
        except DomainError as error:
            db.session.rollback()
            add_error(form, error)
        else:
            db.session.commit()
            flash("Category added", "success")
            return redirect(url_for("admin.categories"))
    return render_template(
        "admin/categories.html", categories=all_categories(db.session), form=form
    )


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@admin_required
def edit_category(category_id: int) -> str | Response:
    category = db.session.get(Category, category_id)
    if category is None:
        abort(404)
    form = CategoryForm(obj=category)
    if form.validate_on_submit():
        try:
            update_category(
                db.session,
                current_user,
                category,
                form.name.data or "",
                form.description.data or "",
                form.position.data or 0,
            )
        except DomainError as error:
            db.session.rollback()
            add_error(form, error)
        else:
            db.session.commit()
            flash("Category saved", "success")
            return redirect(url_for("admin.categories"))
    return render_template("admin/category_edit.html", form=form, category=category)
