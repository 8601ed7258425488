"""The load test's yardstick: a bare Flask app whose one route runs one query by primary key.

bench/load.py serves it with the same gunicorn settings as the site, on the same database, and
drives it with the same client settings, so the site's throughput can be given as a fraction
of what the stack (gunicorn, Flask, SQLAlchemy, psycopg, PostgreSQL) manages with no work.

    DATABASE_URL=postgresql+psycopg://... gunicorn --pythonpath bench bare_app:app
"""

from __future__ import annotations

import os

from flask import Flask, abort
from sqlalchemy import text

from marketplace.db import make_engine

app = Flask(__name__)
# The same engine settings as the site's (marketplace.db.Database.init_app).
engine = make_engine(os.environ["DATABASE_URL"])
QUERY = text("SELECT name FROM listings WHERE id = :id")


@app.route("/row/<int:row_id>")
def row(row_id: int) -> str:
    with engine.connect() as connection:
        name = connection.execute(QUERY, {"id": row_id}).scalar_one_or_none()
    if name is None:
        abort(404)
    return name
