"""The marketplace web application."""

from __future__ import annotations

from typing import Any

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from marketplace import config as config_module


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, error handlers, CLI."""
    app = Flask(
        __name__,
        template_folder=str(config_module.PROJECT_ROOT / "templates"),
        static_folder=str(config_module.PROJECT_ROOT / "static"),
        instance_path=str(config_module.INSTANCE_DIR),
    )
    _configure(app, config)
    _init_templates(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_services()
    _register_error_handlers(app)
    _register_cli(app)
    return app


def _configure(app: Flask, overrides: dict[str, Any] | None) -> None:
    app.config.update(config_module.from_environment())
    if overrides:
        app.config.update(overrides)
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)


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
    from marketplace import after_commit, ops
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
    after_commit.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from marketplace.account.routes import bp as account_bp
    from marketplace.admin.routes import bp as admin_bp
    from marketplace.auth.routes import bp as auth_bp
    from marketplace.buddies.routes import bp as buddies_bp
    from marketplace.carers.routes import bp as carers_bp
    from marketplace.casework.routes import bp as casework_bp
    from marketplace.engagement.routes import bp as engagement_bp
    from marketplace.memberships.routes import bp as memberships_bp
    from marketplace.moderation.report_routes import bp as reports_bp
    from marketplace.moderation.routes import bp as moderation_bp
    from marketplace.notifications.routes import bp as notifications_bp
    from marketplace.organisations.routes import bp as organisations_bp
    from marketplace.pages.routes import bp as pages_bp
    from marketplace.payments.routes import bp as payments_bp
    from marketplace.pools.routes import bp as pools_bp
    from marketplace.privacy.routes import bp as privacy_bp
    from marketplace.providers.api import bp as api_bp
    from marketplace.providers.csv_routes import bp as listing_csv_bp
    from marketplace.providers.manage_routes import bp as provider_bp
    from marketplace.providers.routes import bp as directory_bp
    from marketplace.wellbeing.break_routes import bp as breaks_bp
    from marketplace.wellbeing.crisis_plan_routes import bp as crisis_plans_bp

    for blueprint in (
        pages_bp,
        auth_bp,
        account_bp,
        carers_bp,
        organisations_bp,
        privacy_bp,
        admin_bp,
        casework_bp,
        directory_bp,
        provider_bp,
        listing_csv_bp,
        engagement_bp,
        buddies_bp,
        pools_bp,
        memberships_bp,
        moderation_bp,
        reports_bp,
        api_bp,
        payments_bp,
        notifications_bp,
        breaks_bp,
        crisis_plans_bp,
    ):
        app.register_blueprint(blueprint)


def _register_services() -> None:
    """Import service modules that have no pages yet, so their moderation kinds and
    privacy exporters/erasers are registered in the running app."""
    import marketplace.buddies.services
    import marketplace.memberships.services
    import marketplace.pools.funding  # noqa: F401


def _register_error_handlers(app: Flask) -> None:
    from marketplace.web import error_pages

    error_pages.init_app(app)


def _register_cli(app: Flask) -> None:
    from marketplace import cli

    cli.init_app(app)
