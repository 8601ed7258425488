"""Data-protection rights requests and complaints: logged, answered by an admin by a deadline."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Pages and "Your data" of complaints and rights requests."""
    from marketplace.casework import routes, services
    from marketplace.privacy import services as privacy

    app.register_blueprint(routes.bp)
    services.register_privacy()
    privacy.register_page_section(services.your_data_section)
