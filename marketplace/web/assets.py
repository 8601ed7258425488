"""The site's own static files: content-hashed names, compressed copies, a year's caching.

A browser that has the stylesheet never asks for it again, and a new release cannot be hidden
by an old copy: a file's name carries a hash of its content (``css/app.3f2a9c1d04be.css``), so
a changed file is a new address. The hashed copies, with gzip and brotli versions beside them,
are written once per content into ``STATIC_BUILD_DIR`` (by default ``<instance>/static-build``)
as the app starts, and WhiteNoise serves them before Flask is reached, choosing the compressed
copy the browser accepts and marking hashed names ``immutable`` (cached for ten years: their
content never changes). The unhashed names keep
working (print stylesheets, old links), with a short cache.

Several gunicorn workers may start at once: every file is written under a temporary name and
renamed, and a hashed name's content never changes, so two workers writing one file agree.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import brotli
from flask import Flask, current_app, request
from whitenoise import WhiteNoise

EXTENSION_KEY = "static_assets"
# Unhashed names may change with a release.
PLAIN_MAX_AGE = 300
_HASHED_NAME = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")
_COMPRESSIBLE = {".css", ".js", ".svg", ".txt", ".map", ".json"}
# Sass sources are not served.
_SKIPPED_DIRS = {"src"}
# app.js imports GOV.UK Frontend by its address; the hashed copy imports the hashed one.
_IMPORTS = {"js/app.js": ("govuk/govuk-frontend.min.js",)}


@dataclass
class Assets:
    """Where each static file's hashed copy is, by its plain name (``css/app.css``)."""

    source: Path
    build: Path
    hashed: dict[str, str] = field(default_factory=dict)
    mtimes: dict[str, float] = field(default_factory=dict)

    def name_of(self, name: str) -> str:
        """The hashed name of a static file, or the plain name if there is none."""
        return self.hashed.get(name, name)


def init_app(app: Flask) -> None:
    """Build the hashed, compressed copies and put WhiteNoise in front of the app."""
    source = Path(app.static_folder or "static")
    build = Path(app.config.get("STATIC_BUILD_DIR") or Path(app.instance_path) / "static-build")
    assets = Assets(source=source, build=build)
    build_all(assets)
    app.extensions[EXTENSION_KEY] = assets
    # Flask's own static route (reached only for what WhiteNoise does not hold) serves the
    # built copies too, never the Sass sources beside the files.
    app.static_folder = str(build)
    server = WhiteNoise(
        app.wsgi_app,
        root=str(build),
        prefix="static/",
        max_age=PLAIN_MAX_AGE,
        # In development the copies are remade as files change (see static_url), and WhiteNoise
        # must look for new ones on each request.
        autorefresh=app.debug,
        immutable_file_test=_is_hashed,
        add_headers_function=_add_headers,
    )
    app.wsgi_app = server  # type: ignore[method-assign]


def static_url(name: str) -> str:
    """The address of a static file under its hashed name (``css/app.css`` ->
    ``/static/css/app.3f2a9c1d04be.css``), below the app's mount point."""
    assets: Assets = current_app.extensions[EXTENSION_KEY]
    if current_app.debug:
        _refresh(assets, name)
    return f"{request.script_root}/static/{assets.name_of(name)}"


def build_all(assets: Assets) -> None:
    """Write every static file's plain and hashed copies (and their compressed versions)."""
    names = sorted(
        path.relative_to(assets.source).as_posix()
        for path in assets.source.rglob("*")
        if path.is_file() and path.relative_to(assets.source).parts[0] not in _SKIPPED_DIRS
    )
    # Imported files first, so that an importer's rewritten content names their hashes.
    imported = {dep for deps in _IMPORTS.values() for dep in deps}
    for name in sorted(names, key=lambda n: n not in imported):
        _build_one(assets, name)


def _refresh(assets: Assets, name: str) -> None:
    path = assets.source / name
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return
    if assets.mtimes.get(name) != mtime:
        for dependency in _IMPORTS.get(name, ()):
            _refresh(assets, dependency)
        _build_one(assets, name)


def _build_one(assets: Assets, name: str) -> None:
    path = assets.source / name
    content = path.read_bytes()
    for dependency in _IMPORTS.get(name, ()):
        content = content.replace(
            f"/static/{dependency}".encode(), f"/static/{assets.name_of(dependency)}".encode()
        )
    digest = hashlib.sha256(content).hexdigest()[:12]
    stem, dot, extension = name.rpartition(".")
    hashed = f"{stem}.{digest}.{extension}" if dot else f"{name}.{digest}"
    _write_once(assets.build / hashed, content)
    # The plain name serves the file as it is, so that its own absolute imports still resolve.
    _write_if_changed(assets.build / name, path.read_bytes())
    assets.hashed[name] = hashed
    assets.mtimes[name] = path.stat().st_mtime


def _write_once(target: Path, content: bytes) -> None:
    if target.exists():
        return  # a hashed name's content is fixed: an earlier start wrote exactly this
    _write_with_compressed(target, content)


def _write_if_changed(target: Path, content: bytes) -> None:
    if target.exists() and target.read_bytes() == content:
        return
    _write_with_compressed(target, content)


def _write_with_compressed(target: Path, content: bytes) -> None:
    copies = {target: content}
    if target.suffix in _COMPRESSIBLE:
        copies[target.with_name(target.name + ".gz")] = gzip.compress(content, 9, mtime=0)
        copies[target.with_name(target.name + ".br")] = brotli.compress(content)
    # The compressed versions first: WhiteNoise serves them only beside the file itself.
    for path, data in sorted(copies.items(), key=lambda item: item[0] == target):
        _atomic_write(path, data)


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _is_hashed(_path: str, url: str) -> bool:
    return bool(_HASHED_NAME.search(url))


def _add_headers(headers: object, _path: str, _url: str) -> None:
    # The same protections Flask's responses carry (security_headers) that apply to files.
    headers["X-Content-Type-Options"] = "nosniff"  # type: ignore[index]
    headers["Cross-Origin-Resource-Policy"] = "same-origin"  # type: ignore[index]
