"""The 30-day figures behind the sync log's chart, and the chart's geometry."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitoring.chart import calls_panel, invoices_panel, nice_ceiling
from monitoring.selectors import sync_activity
from sync.models import ExactCallDay, SyncAttempt
from tests.factories import ExactConnectionFactory, GlobalSettingsFactory, InstallationFactory, InvoiceRecordFactory

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TODAY = date(2026, 3, 31)


def attempt(record, outcome: str, when: datetime, error_kind: str = "") -> None:
    row = SyncAttempt.objects.create(invoice=record, trigger="webhook", outcome=outcome, error_kind=error_kind)
    SyncAttempt.objects.filter(pk=row.pk).update(started_at=when, finished_at=when)


@pytest.mark.django_db
def test_the_figures_count_invoices_per_local_day_and_calls_of_the_configured_division():
    installation = InstallationFactory()
    GlobalSettingsFactory(installation=installation, division=1234567)
    ExactConnectionFactory(installation=installation, daily_limit=5000)
    first, second = InvoiceRecordFactory.create_batch(2, installation=installation)
    # 23:30 UTC on 29 March is 01:30 on 30 March in Amsterdam.
    attempt(first, "created", datetime(2026, 3, 29, 23, 30, tzinfo=ZoneInfo("UTC")))
    attempt(first, "updated", datetime(2026, 3, 30, 10, 0, tzinfo=AMSTERDAM))  # the same invoice: counted once
    attempt(second, "failed", datetime(2026, 3, 30, 11, 0, tzinfo=AMSTERDAM), error_kind="functional")
    attempt(second, "failed", datetime(2026, 3, 30, 12, 0, tzinfo=AMSTERDAM), error_kind="retryable")
    attempt(second, "created", datetime(2026, 2, 1, 12, 0, tzinfo=AMSTERDAM))  # older than 30 days
    attempt(InvoiceRecordFactory(), "created", datetime(2026, 3, 30, 12, 0, tzinfo=AMSTERDAM))  # another tenant
    ExactCallDay.objects.create(installation=installation, division=1234567, day=TODAY, calls=120, daily_limit=4000)
    ExactCallDay.objects.create(installation=installation, division=7654321, day=TODAY, calls=999)

    days = sync_activity(installation=installation, today=TODAY)

    assert len(days) == 30
    assert (days[0].day, days[-1].day) == (TODAY - timedelta(days=29), TODAY)
    march_30 = days[-2]
    assert (march_30.booked, march_30.attention, march_30.exact_calls, march_30.daily_limit) == (1, 1, 0, 5000)
    assert (days[-1].booked, days[-1].exact_calls, days[-1].daily_limit) == (0, 120, 4000)
    assert sum(d.booked for d in days) == 1


def test_the_calls_panel_draws_the_limit_above_the_bars_and_labels_every_bar():
    from monitoring.selectors import DayActivity

    days = [DayActivity(TODAY - timedelta(days=29 - n), 0, 0, n * 10, 5000) for n in range(30)]
    panel = calls_panel(days)
    assert len(panel.bars) == 30
    assert panel.limit_label == "daily limit 5000"
    assert panel.limit_y < min(bar.y for bar in panel.bars)
    assert panel.bars[-1].title == "31 Mar: 290 of 5000 calls"
    assert panel.summary == "290 of 5000 today"
    # Bars grow with the calls, from the same baseline.
    assert panel.bars[-1].height > panel.bars[1].height > panel.bars[0].height == 0
    assert {round(bar.y + bar.height, 1) for bar in panel.bars} == {panel.baseline}


def test_the_invoices_panel_scales_to_a_tidy_top():
    from monitoring.selectors import DayActivity

    days = [DayActivity(TODAY, 7, 3, 0, 5000)]
    panel = invoices_panel(days)
    assert [tick.label for tick in panel.y_ticks] == ["0", "5", "10"]
    booked, attention = panel.bars
    assert booked.height == pytest.approx(attention.height * 7 / 3, rel=0.01)
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 12, 4999, 5001)] == [1, 1, 5, 10, 20, 5000, 10000]
