"""GET /metrics as a Prometheus scraper sees it, from gunicorn with several worker processes, while a separate
Celery worker books (contract: METRICS_TOKEN; 404 when unset, 401 without the bearer token)."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.contract.conftest import edition_variant, new_invoice, webhooks_delivered
from tests.contract.harness import CELERY, Process, answers, free_port, http, wait_for

pytestmark = pytest.mark.contract
TOKEN = "contract-metrics-token"
GUNICORN = CELERY.replace("/celery", "/gunicorn")


@pytest.fixture(scope="module")
def scraped(installed, tmp_path_factory):
    """The service's web app on gunicorn with three worker processes, METRICS_TOKEN set."""
    service = installed.service
    port = free_port()
    env = {**service.env, "METRICS_TOKEN": TOKEN}
    command = [GUNICORN, "eduexact_site.wsgi", "-w", "3", "-b", f"127.0.0.1:{port}", "--access-logfile", "-"]
    process = Process("gunicorn-metrics", command, env, tmp_path_factory.mktemp("metrics"))
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/healthz"), timeout=60, what="gunicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def scrape(url: str) -> dict[tuple, float]:
    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples: dict[tuple, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            # Summed over installations and divisions: the service has one of each here.
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k not in ("installation", "division")))
            samples[(sample.name, labels)] = samples.get((sample.name, labels), 0) + sample.value
    return samples


def figure(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_closed_without_the_token(installed, scraped):
    # The contract service itself runs without METRICS_TOKEN: no metrics at all.
    assert http("GET", f"{installed.service.url}/metrics").status == 404
    assert http("GET", f"{scraped}/metrics").status == 401


def test_every_gunicorn_process_sees_what_the_celery_worker_booked(installed, backfilled, scraped):
    before = scrape(scraped)
    booked_before = figure(before, "eduexact_invoices", state="booked")
    created_before = figure(before, "eduexact_bookings_total", outcome="created", error_kind="")
    calls_before = figure(before, "eduexact_exact_calls_total")
    assert booked_before >= len(backfilled)
    assert created_before >= len(backfilled)
    assert calls_before > 0
    edition = next(
        v for v in installed.service.eduframe.state()["catalog_variants"] if v["variantable_type"] == "PlannedCourse"
    )
    new_invoice(installed.service, variant=edition_variant(installed.service, edition["variantable_id"]))
    webhooks_delivered(installed.service)

    def moved():
        samples = scrape(scraped)
        return samples if figure(samples, "eduexact_invoices", state="booked") > booked_before else None

    after = wait_for(moved, timeout=60, what="the booked invoice in /metrics")
    assert figure(after, "eduexact_bookings_total", outcome="created", error_kind="") == created_before + 1
    assert figure(after, "eduexact_exact_calls_total") > calls_before
    # The webhooks were answered by the contract's web process, and counted where every process reads.
    webhooks = figure(after, "eduexact_webhook_answers_total", status="202")
    assert webhooks > figure(before, "eduexact_webhook_answers_total", status="202")
    # Several scrapes, answered by whichever of the three processes: the same counters.
    again = [scrape(scraped) for _ in range(6)]
    keys = ("eduexact_bookings_total", (("error_kind", ""), ("outcome", "created")))
    assert {samples[keys] for samples in again} == {after[keys]}
