"""Fixtures for the ops tests: the request log captured as the JSON lines it would print."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from flask import Flask

from marketplace.ops.json_logging import JsonFormatter
from marketplace.ops.request_log import LOGGER_NAME


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class RequestLines:
    """What the request logger wrote during a test, raw and parsed."""

    def __init__(self, handler: _Lines) -> None:
        self._handler = handler

    @property
    def raw(self) -> list[str]:
        return list(self._handler.lines)

    def parsed(self) -> list[dict]:
        return [json.loads(line) for line in self._handler.lines]

    def last(self) -> dict:
        assert self._handler.lines, "no request was logged"
        return json.loads(self._handler.lines[-1])

    def clear(self) -> None:
        self._handler.lines.clear()


@pytest.fixture
def request_lines(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[RequestLines]:
    """Turn the JSON request log on for this test and collect its lines."""
    monkeypatch.setitem(app.config, "JSON_REQUEST_LOGS", True)
    logger = logging.getLogger(LOGGER_NAME)
    handler = _Lines()
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield RequestLines(handler)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
