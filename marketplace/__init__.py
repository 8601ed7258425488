"""The marketplace web application."""

from __future__ import annotations

from typing import Any

from flask import Flask, Request
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug.routing import MapAdapter

from marketplace import config as config_module


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, error handlers, CLI."""
    app = _Marketplace(
        __name__,
        template_folder=str(config_module.PROJECT_ROOT / "templates"),
        static_folder=str(config_module.PROJECT_ROOT / "static"),
        instance_path=str(config_module.INSTANCE_DIR),
    )
    _configure(app, config)
    _init_routing(app)
    _init_templates(app)
    _init_extensions(app)
    _init_packages(app)
    _register_error_handlers(app)
    _register_cli(app)
    return app


def _configure(app: Flask, overrides: dict[str, Any] | None) -> None:
    app.config.update(config_module.from_environment())
    if overrides:
        app.config.update(overrides)
    config_module.apply_public_base_url(app.config, debug=app.debug, testing=app.testing)
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)


class _Marketplace(Flask):
    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Links made during a request take the configured scheme too, not the request's
        (Flask takes only the host from SERVER_NAME there)."""
        adapter = super().create_url_adapter(request)
        if adapter is not None and self.config.get("PUBLIC_BASE_URL"):
            adapter.url_scheme = self.config["PREFERRED_URL_SCHEME"]
        return adapter


def _init_routing(app: Flask) -> None:
    from marketplace.web import assets, numbers, proxies

    numbers.init_app(app)
    proxies.init_app(app)
    assets.init_app(app)


def _init_templates(app: Flask) -> None:
    from govuk_frontend_wtf.main import WTFormsHelpers

    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(config_module.PROJECT_ROOT / "templates")),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    WTFormsHelpers(app)

    from marketplace.web import govuk_widgets, template_globals

    govuk_widgets.install()
    template_globals.init_app(app)


def _init_extensions(app: Flask) -> None:
    from marketplace import email, ops, outbox
    from marketplace.auth import sessions
    from marketplace.extensions import csrf, db, limiter, login_manager
    from marketplace.payments import gateway
    from marketplace.providers import indexing, reference
    from marketplace.web import security_headers

    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    sessions.init_login_manager(login_manager)
    security_headers.init_app(app)
    indexing.init_app(app)
    reference.init_app(app)
    gateway.init_app(app)
    ops.init_app(app)
    outbox.init_app(app)
    email.init_app(app)


def _init_packages(app: Flask) -> None:
    """Each package wires itself in its own init_app (blueprints, commands, moderation
    subjects, privacy hooks, webhook and job handlers), in this order: lower layers first."""
    from marketplace import (
        account,
        admin,
        auth,
        buddies,
        carers,
        casework,
        commitments,
        engagement,
        memberships,
        moderation,
        notifications,
        organisations,
        pages,
        payments,
        pools,
        privacy,
        providers,
        receipts,
        statements,
        wellbeing,
    )

    for package in (
        pages,
        auth,
        privacy,
        account,
        carers,
        organisations,
        notifications,
        moderation,
        payments,
        receipts,
        admin,
        casework,
        providers,
        engagement,
        buddies,
        pools,
        memberships,
        wellbeing,
        commitments,
        statements,
    ):
        package.init_app(app)


def _register_error_handlers(app: Flask) -> None:
    from marketplace.web import error_pages

    error_pages.init_app(app)


def _register_cli(app: Flask) -> None:
    from marketplace import cli

    cli.init_app(app)
