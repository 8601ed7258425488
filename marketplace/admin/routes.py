"""Admin pages: approving organisations and reading the audit log. Second factor required."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from marketplace import audit
from marketplace.admin.audit_names import names_for
from marketplace.admin.forms import CategoryForm
from marketplace.audit import AuditEntry
from marketplace.auth.access import admin_required
from marketplace.extensions import db
from marketplace.organisations import services as organisations
from marketplace.organisations.forms import DecisionForm
from marketplace.organisations.models import Organisation
from marketplace.providers.categories import add_category, update_category
from marketplace.providers.csv_io import safe_cell
from marketplace.providers.models import Category
from marketplace.providers.services import all_categories
from marketplace.web.actions import form_action
from marketplace.web.numbers import whole_number

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
        done = form_action(
            form,
            lambda: organisations.decide_organisation(
                db.session,
                current_user,
                org,
                approve=form.decision.data == "approve",
                reason=form.reason.data or "",
            ),
        )
        if done.ok:
            flash(f"Decision saved for {org.name}", "success")
            return redirect(url_for("admin.organisations_queue"))
    return render_template("admin/organisation_decision.html", org=org, form=form)


AUDIT_PAGE = 200
AUDIT_EXPORT_MAX = 50_000


def _audit_filters() -> tuple[dict[str, str], dict[str, str], list[Any]]:
    """(values as typed, problems by field, SQL conditions) from the query string."""
    values = {
        key: (request.args.get(key) or "").strip()
        for key in ("actor", "action", "subject_type", "date_from", "date_to")
    }
    errors: dict[str, str] = {}
    conditions: list[Any] = []
    if values["actor"]:
        if (actor_id := whole_number(values["actor"])) is not None:
            conditions.append(AuditEntry.actor_id == actor_id)
        elif values["actor"].lower() == "system":
            conditions.append(AuditEntry.actor_id.is_(None))
        else:
            errors["actor"] = "Enter a person's number, or system"
    if values["action"]:
        conditions.append(AuditEntry.action.startswith(values["action"], autoescape=True))
    if values["subject_type"]:
        conditions.append(AuditEntry.subject_type == values["subject_type"])
    for key, label in (("date_from", "from"), ("date_to", "to")):
        if not values[key]:
            continue
        try:
            day = date.fromisoformat(values[key])
        except ValueError:
            errors[key] = f"Enter the {label} date as YYYY-MM-DD, like 2026-11-24"
            continue
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if key == "date_from":
            conditions.append(AuditEntry.created_at >= moment)
        else:
            conditions.append(AuditEntry.created_at < moment + timedelta(days=1))
    return values, errors, conditions


@bp.route("/audit")
@admin_required
def audit_log() -> str:
    values, errors, conditions = _audit_filters()
    entries: list[AuditEntry] = []
    if not errors:
        entries = list(
            db.session.scalars(
                select(AuditEntry)
                .where(*conditions)
                .order_by(AuditEntry.id.desc())
                .limit(AUDIT_PAGE)
            )
        )
    subject_types = db.session.scalars(
        select(AuditEntry.subject_type).distinct().order_by(AuditEntry.subject_type)
    )
    return render_template(
        "admin/audit.html",
        entries=entries,
        names=names_for(db.session, entries),
        values=values,
        errors=errors,
        subject_types=list(subject_types),
        export_query={k: v for k, v in values.items() if v},
    )


@bp.route("/audit.csv")
@admin_required
def audit_export() -> Response:
    values, errors, conditions = _audit_filters()
    if errors:
        abort(400)
    rows = db.session.scalars(
        select(AuditEntry).where(*conditions).order_by(AuditEntry.id).limit(AUDIT_EXPORT_MAX)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "when", "actor", "action", "subject_type", "subject_id", "detail"])
    for entry in rows:
        writer.writerow(
            [
                safe_cell(value)
                for value in (
                    entry.id,
                    entry.created_at.isoformat(),
                    entry.actor_id if entry.actor_id is not None else "system",
                    entry.action,
                    entry.subject_type,
                    entry.subject_id if entry.subject_id is not None else "",
                    entry.detail,
                )
            ]
        )
    audit.record(db.session, current_user.id, "audit.exported", "audit", None, str(values))
    db.session.commit()
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit.csv"},
    )


@bp.route("/categories", methods=["GET", "POST"])
@admin_required
def categories() -> str | Response:
    form = CategoryForm(position=len(all_categories(db.session)))
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: add_category(
                db.session,
                current_user,
                form.name.data or "",
                form.description.data or "",
                form.position.data or 0,
            ),
        )
        if done.ok:
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
        done = form_action(
            form,
            lambda: update_category(
                db.session,
                current_user,
                category,
                form.name.data or "",
                form.description.data or "",
                form.position.data or 0,
            ),
        )
        if done.ok:
            flash("Category saved", "success")
            return redirect(url_for("admin.categories"))
    return render_template("admin/category_edit.html", form=form, category=category)
