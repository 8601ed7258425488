"""Which function runs each kind of job.

    @handler("buddies.resume_due")
    def resume_due(session: Session, payload: dict[str, Any]) -> None: ...

A handler runs inside the worker's transaction and must not commit: its database changes and the
job's "done" mark commit together, or neither does. A handler that has to commit as it goes (to
make a claim durable before money moves, as pool charging does) says `commits=True`; it is then
run under a lease instead, at least once, and must be safe to run again (see services.run_next).
Either way, effects outside our database (Stripe, email, the search index) can happen again when
a run is retried: they must be idempotent on their own keys, or acceptable twice.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

HandlerFunction = Callable[[Session, dict[str, Any]], None]

# Test hook: comma-separated modules imported by every worker, so that tests can register
# handlers of their own kinds in worker processes they start. Not for production use.
EXTRA_MODULES_ENV = "MARKETPLACE_EXTRA_JOB_MODULES"
BUILT_IN_MODULES: tuple[str, ...] = ()  # every package registers its own handlers


@dataclass(frozen=True)
class Handler:
    kind: str
    function: HandlerFunction
    commits: bool = False


_HANDLERS: dict[str, Handler] = {}


def handler(kind: str, *, commits: bool = False) -> Callable[[HandlerFunction], HandlerFunction]:
    """Register the decorated function as the handler for jobs of `kind`."""

    def register(function: HandlerFunction) -> HandlerFunction:
        existing = _HANDLERS.get(kind)
        if existing is not None and _name(existing.function) != _name(function):
            raise ValueError(f"job kind {kind!r} already has a handler: {_name(existing.function)}")
        _HANDLERS[kind] = Handler(kind, function, commits)
        return function

    return register


def _name(function: HandlerFunction) -> str:
    # A module imported twice (as a script and as a module) registers the same function again.
    return f"{function.__module__}.{function.__qualname__}"


def load_handlers() -> None:
    """Import the modules that register handlers (importing again does nothing)."""
    extra = [name.strip() for name in os.environ.get(EXTRA_MODULES_ENV, "").split(",")]
    for module in (*BUILT_IN_MODULES, *filter(None, extra)):
        importlib.import_module(module)


def lookup(kind: str) -> Handler | None:
    """The handler for `kind`, or None when nothing handles it."""
    load_handlers()
    return _HANDLERS.get(kind)


def kinds() -> list[str]:
    """Every registered kind."""
    load_handlers()
    return sorted(_HANDLERS)
