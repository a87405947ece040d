"""GET /metrics, scraped like Prometheus does, while an invoice is booked against the simulators."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "scrape-me-please"
SLUG = "demo-academy"


def scrape(client) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of one scrape."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def test_the_figures_move_when_an_invoice_is_booked(world, client, metrics_on):
    from sync.models import InvoiceRecord

    invoice = world.invoice([world.item(price="250.00")])
    record = world.record(invoice)
    InvoiceRecord.objects.filter(pk=record.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    waiting = scrape(client)
    assert 600 <= value(waiting, "eduexact_queue_oldest_pending_seconds", installation=SLUG) < 660
    assert value(waiting, "eduexact_invoices", installation=SLUG, state="pending") == 1
    assert value(waiting, "eduexact_invoices", installation=SLUG, state="booked") == 0
    assert value(waiting, "eduexact_queue_due_invoices", installation=SLUG) == 1

    attempt = world.sync(invoice)
    assert attempt.outcome == "created"
    booked = scrape(client)
    division = str(world.settings.division)
    assert value(booked, "eduexact_invoices", installation=SLUG, state="pending") == 0
    assert value(booked, "eduexact_invoices", installation=SLUG, state="booked") == 1
    assert value(booked, "eduexact_queue_due_invoices", installation=SLUG) == 0
    created = {"installation": SLUG, "outcome": "created", "error_kind": ""}
    assert value(booked, "eduexact_bookings_total", **created) == 1
    assert value(booked, "eduexact_booking_duration_seconds_count", installation=SLUG, outcome="created") == 1
    assert (
        value(booked, "eduexact_booking_duration_seconds_bucket", installation=SLUG, outcome="created", le="+Inf") == 1
    )
    calls = value(booked, "eduexact_exact_calls_total", installation=SLUG, division=division)
    assert calls == attempt.exact_calls > 0
    assert value(booked, "eduexact_exact_rate_limited_total", installation=SLUG, division=division) == 0
    left = value(booked, "eduexact_exact_budget_remaining", installation=SLUG, division=division)
    assert left == value(booked, "eduexact_exact_daily_limit", installation=SLUG, division=division) - calls

    # A second invoice that needs attention moves other figures, and the first ones stay.
    problem = world.invoice([world.item(vat=world.eduframe.add_vat("7% BTW", "7"))])
    world.sync(problem)
    assert InvoiceRecord.objects.get(eduframe_invoice_id=problem["id"]).state == "needs_attention"
    later = scrape(client)
    assert value(later, "eduexact_invoices", installation=SLUG, state="needs_attention") == 1
    failed = {"installation": SLUG, "outcome": "failed", "error_kind": "functional"}
    assert value(later, "eduexact_bookings_total", **failed) == 1
    assert value(later, "eduexact_bookings_total", **created) == 1
    assert value(later, "eduexact_exact_calls_total", installation=SLUG, division=division) >= calls


def test_webhook_answers_are_counted_by_status(world, client, metrics_on):
    url = f"/webhooks/eduframe/{world.installation.pk}/{world.installation.webhook_secret}"
    client.post(url, data="not json", content_type="application/json")
    client.post(f"/webhooks/eduframe/{world.installation.pk}/wrong-secret", data="{}", content_type="application/json")
    samples = scrape(client)
    assert value(samples, "eduexact_webhook_answers_total", status="400") == 1
    assert value(samples, "eduexact_webhook_answers_total", status="404") == 1


@pytest.mark.django_db
def test_metrics_are_closed_without_the_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=TOKEN).status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
