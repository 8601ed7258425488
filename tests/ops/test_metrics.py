"""/metrics: the Prometheus text format, route templates as labels, an optional bearer token."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from marketplace.ops.metrics import record_job, record_payment


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _count(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("marketplace_request_duration_seconds_count", labels) or 0.0


def test_metrics_is_prometheus_text_with_the_latency_histogram(client):
    before = _count("GET", "/services/<int:listing_id>", "404")
    client.get("/services/987654")
    client.get("/services/123456")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "version=" in response.headers["Content-Type"]
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    samples = _samples(text)
    labels = frozenset(
        {"method": "GET", "route": "/services/<int:listing_id>", "status": "404"}.items()
    )
    assert samples[("marketplace_request_duration_seconds_count", labels)] == before + 2
    buckets = [key for key in samples if key[0] == "marketplace_request_duration_seconds_bucket"]
    assert buckets, "the latency is a histogram with buckets"
    assert "987654" not in text and "123456" not in text  # paths never become labels


def test_unmatched_paths_share_one_label(client):
    before = _count("GET", "unmatched", "404")
    client.get("/no/such/page/1")
    client.get("/no/such/page/2")

    assert _count("GET", "unmatched", "404") == before + 2


def test_made_up_methods_share_one_label(client):
    before = _count("OTHER", "unmatched", "405")
    client.open("/services", method="BREW")
    client.open("/healthz", method="MKCOFFEE")

    assert _count("OTHER", "unmatched", "405") == before + 2
    assert (
        REGISTRY.get_sample_value(
            "marketplace_request_duration_seconds_count",
            {"method": "BREW", "route": "unmatched", "status": "405"},
        )
        is None
    )


def test_jobs_and_payments_are_counted_by_outcome(client):
    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    jobs = value("marketplace_jobs_total", kind="test.ops", outcome="dead")
    paid = value("marketplace_payments_total", outcome="requires_action")

    record_job("test.ops", "dead")
    record_job("test.ops", "dead")
    record_payment("requires_action")

    assert value("marketplace_jobs_total", kind="test.ops", outcome="dead") == jobs + 2
    assert value("marketplace_payments_total", outcome="requires_action") == paid + 1
    samples = _samples(client.get("/metrics").get_data(as_text=True))
    key = ("marketplace_jobs_total", frozenset({"kind": "test.ops", "outcome": "dead"}.items()))
    assert samples[key] == jobs + 2


def test_unknown_outcomes_are_refused():
    with pytest.raises(ValueError, match="job outcome"):
        record_job("test.ops", "finished")
    with pytest.raises(ValueError, match="payment outcome"):
        record_payment("paid")


def test_a_metrics_token_is_required_when_set(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "s3cret-scrape-token")

    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    assert "marketplace_" not in wrong.get_data(as_text=True)
    right = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert right.status_code == 200
    assert "marketplace_request_duration_seconds" in right.get_data(as_text=True)
