"""The Prometheus metrics, read from the database at scrape time by one custom collector.

Gauges (invoices per state, the queue, Exact's budget) are counted now; counters (Exact calls and 429s,
booking outcomes and durations, webhook answers) are rows that every gunicorn and Celery process adds to
(sync.ExactCallDay, monitoring.Tally). So any process on any machine answers a scrape with the same
figures, and no count is lost when a worker restarts: no per-process registry, no multiprocess folder.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

from monitoring.models import Tally
from monitoring.services.booking_tally import BOOKING, WEBHOOK_ANSWER
from monitoring.tally import DURATION_BUCKETS, INF
from plugin.models import ExactConnection, GlobalSettings, Installation
from sync.models import ExactCallDay, InvoiceRecord, WebhookEvent

State = InvoiceRecord.State


class EduExactCollector:
    """Yields every EduExact metric from the database; labels name the installation by its educator slug."""

    def collect(self) -> Iterator[Metric]:
        slugs = {pk: slug for pk, slug in Installation.objects.values_list("pk", "educator_slug")}
        now = timezone.now()
        yield _invoices(slugs)
        yield from _queue(slugs, now)
        yield from _exact_budget(slugs, now)
        yield from _exact_calls(slugs)
        yield from _bookings(slugs)
        yield _webhook_answers()


def _invoices(slugs: dict[int, str]) -> Metric:
    family = GaugeMetricFamily("eduexact_invoices", "Invoices per state.", labels=["installation", "state"])
    counts = defaultdict(int)
    for row in InvoiceRecord.objects.values("installation_id", "state").annotate(n=Count("id")).order_by():
        counts[(row["installation_id"], row["state"])] = row["n"]
    for pk, slug in slugs.items():
        for state in State.values:
            family.add_metric([slug, state], counts[(pk, state)])
    return family


def _queue(slugs: dict[int, str], now) -> Iterator[Metric]:
    due = GaugeMetricFamily(
        "eduexact_queue_due_invoices",
        "Pending invoices whose booking may run now (not waiting for a retry time).",
        labels=["installation"],
    )
    oldest = GaugeMetricFamily(
        "eduexact_queue_oldest_pending_seconds",
        "Longest wait of a pending invoice since it was queued or last tried.",
        labels=["installation"],
    )
    pending = InvoiceRecord.objects.filter(state=State.PENDING).values("installation_id").order_by()
    rows = pending.annotate(
        due=Count("id", filter=Q(next_retry_at__isnull=True) | Q(next_retry_at__lte=now)), first=Min("updated_at")
    )
    by_installation = {row["installation_id"]: row for row in rows}
    for pk, slug in slugs.items():
        row = by_installation.get(pk)
        due.add_metric([slug], row["due"] if row else 0)
        oldest.add_metric([slug], (now - row["first"]).total_seconds() if row else 0)
    yield due
    yield oldest
    unprocessed = WebhookEvent.objects.filter(processed_at__isnull=True, error="").count()
    yield GaugeMetricFamily(
        "eduexact_webhook_events_unprocessed", "Stored Eduframe webhooks not yet processed.", value=unprocessed
    )


def _exact_budget(slugs: dict[int, str], now) -> Iterator[Metric]:
    remaining = GaugeMetricFamily(
        "eduexact_exact_budget_remaining",
        "Exact Online calls left today for the division (the limit once its reset has passed).",
        labels=["installation", "division"],
    )
    limit = GaugeMetricFamily(
        "eduexact_exact_daily_limit",
        "Exact Online's daily call limit of the division.",
        labels=["installation", "division"],
    )
    divisions = dict(GlobalSettings.objects.values_list("installation_id", "division"))
    for connection in ExactConnection.objects.filter(daily_limit__isnull=False).only(
        "installation_id", "daily_limit", "daily_remaining", "daily_reset_at"
    ):
        slug, division = slugs.get(connection.installation_id), divisions.get(connection.installation_id)
        if slug is None or division is None:
            continue
        left = connection.daily_remaining
        if left is None or connection.daily_reset_at is None or connection.daily_reset_at <= now:
            left = connection.daily_limit
        remaining.add_metric([slug, str(division)], left)
        limit.add_metric([slug, str(division)], connection.daily_limit)
    yield remaining
    yield limit


def _exact_calls(slugs: dict[int, str]) -> Iterator[Metric]:
    calls = CounterMetricFamily(
        "eduexact_exact_calls", "Exact Online REST calls answered.", labels=["installation", "division"]
    )
    limited = CounterMetricFamily(
        "eduexact_exact_rate_limited",
        "Exact Online calls answered 429 (rate limit).",
        labels=["installation", "division"],
    )
    rows = ExactCallDay.objects.values("installation_id", "division").annotate(c=Sum("calls"), r=Sum("rate_limited"))
    for row in rows.order_by():
        slug = slugs.get(row["installation_id"])
        if slug is not None:
            calls.add_metric([slug, str(row["division"])], row["c"])
            limited.add_metric([slug, str(row["division"])], row["r"])
    yield calls
    yield limited


def _bookings(slugs: dict[int, str]) -> Iterator[Metric]:
    """Booking outcomes, and the duration histogram per outcome, from the per-bucket tallies."""
    outcomes = CounterMetricFamily(
        "eduexact_bookings",
        "Booking attempts that ended, by outcome.",
        labels=["installation", "outcome", "error_kind"],
    )
    durations = HistogramMetricFamily(
        "eduexact_booking_duration_seconds", "How long a booking attempt took.", labels=["installation", "outcome"]
    )
    by_outcome: dict[tuple, int] = defaultdict(int)
    buckets: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    sums: dict[tuple, float] = defaultdict(float)
    for tally in Tally.objects.filter(name=BOOKING):
        labels = json.loads(tally.labels)
        slug = slugs.get(int(labels["installation"] or 0))
        if slug is None:
            continue
        by_outcome[(slug, labels["outcome"], labels["error_kind"])] += tally.count
        buckets[(slug, labels["outcome"])][labels["le"]] += tally.count
        sums[(slug, labels["outcome"])] += tally.total
    for key, count in sorted(by_outcome.items()):
        outcomes.add_metric(list(key), count)
    for key, counts in sorted(buckets.items()):
        cumulative, running = [], 0
        for bound in [*map(str, DURATION_BUCKETS), INF]:
            running += counts.get(bound, 0)
            cumulative.append((bound, running))
        durations.add_metric(list(key), cumulative, sums[key])
    yield outcomes
    yield durations


def _webhook_answers() -> Metric:
    family = CounterMetricFamily(
        "eduexact_webhook_answers", "Answers of the Eduframe webhook receiver, by HTTP status.", labels=["status"]
    )
    for tally in Tally.objects.filter(name=WEBHOOK_ANSWER).order_by("labels"):
        family.add_metric([json.loads(tally.labels)["status"]], tally.count)
    return family


def metrics_registry() -> CollectorRegistry:
    """A registry with only our collector: per-process figures (memory, CPU) would differ per answering process."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EduExactCollector())
    return registry
