"""The daily digest goes over a real SMTP connection to a local server: one mail, only new invoices."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from monitoring.models import AlertSettings
from monitoring.services.digest import alert_digests_due
from sync.models import InvoiceRecord
from tests.factories import InstallationFactory, InvoiceRecordFactory

pytestmark = pytest.mark.django_db
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def installation(settings):
    settings.PUBLIC_URL = "https://eduexact.example"
    installation = InstallationFactory(educator_slug="demo-academy", educator_name="Demo Academy")
    AlertSettings.objects.create(installation=installation, emails="finance@demo.example, it@demo.example")
    return installation


def needing_attention(installation, number: str, reason: str, hint: str = "") -> InvoiceRecord:
    return InvoiceRecordFactory(
        installation=installation,
        number=number,
        account_name="Noord Consultancy B.V.",
        invoice_date=date(2026, 3, 2),
        total_incl=Decimal("121.00"),
        state="needs_attention",
        reason=reason,
        fix_hint=hint,
    )


def test_the_digest_arrives_over_smtp_with_each_invoice_its_reason_and_link(installation, smtp_inbox):
    first = needing_attention(installation, "2026-0042", "The ledger 9999 does not exist.", "Correct 'Ledger code'.")
    second = needing_attention(installation, "2026-0043", "No Exact VAT code for 7%.")
    InvoiceRecordFactory(installation=installation, number="2026-0044", state="booked")

    assert alert_digests_due(now=at(3, 8)) == 1

    assert len(smtp_inbox.messages) == 1
    mail, recipients = smtp_inbox.messages[0]
    assert recipients == ["finance@demo.example", "it@demo.example"]
    assert mail["From"] == "EduExact alerts <alerts@eduexact.test>"
    assert mail["Subject"] == "[EduExact] 2 invoices need attention (Demo Academy)"
    body = mail.get_content()
    assert "Invoice 2026-0042: Noord Consultancy B.V., 02 Mar 2026, € 121.00" in body
    assert "Why: The ledger 9999 does not exist." in body
    assert "Fix: Correct 'Ledger code'." in body
    assert f"https://eduexact.example/settings/log/{first.pk}/" in body
    assert "Why: No Exact VAT code for 7%." in body
    assert f"https://eduexact.example/settings/log/{second.pk}/" in body
    assert "2026-0044" not in body


def test_an_invoice_is_never_in_two_digests_and_nothing_is_sent_when_nothing_happened(installation, smtp_inbox):
    needing_attention(installation, "2026-0042", "The ledger 9999 does not exist.")
    assert alert_digests_due(now=at(3, 8)) == 1
    # The same day again, and the next day with nothing new: no mail.
    assert alert_digests_due(now=at(3, 20)) == 0
    assert alert_digests_due(now=at(4, 8)) == 0
    assert len(smtp_inbox.messages) == 1

    needing_attention(installation, "2026-0050", "Exact refuses the VAT code.")
    assert alert_digests_due(now=at(5, 8)) == 1
    body = smtp_inbox.messages[1][0].get_content()
    assert "2026-0050" in body
    assert "2026-0042" not in body
    assert smtp_inbox.messages[1][0]["Subject"] == "[EduExact] 1 invoice needs attention (Demo Academy)"


def test_before_the_digest_hour_nothing_is_sent(installation, smtp_inbox, settings):
    settings.ALERT_DIGEST_HOUR = 7
    needing_attention(installation, "2026-0042", "The ledger 9999 does not exist.")
    assert alert_digests_due(now=at(3, 6)) == 0
    assert smtp_inbox.messages == []


def test_an_invoice_resolved_and_broken_again_is_news_again(installation, smtp_inbox):
    record = needing_attention(installation, "2026-0042", "The ledger 9999 does not exist.")
    alert_digests_due(now=at(3, 8))
    # Retried after a settings change: pending for a moment, then still broken: not news.
    InvoiceRecord.objects.filter(pk=record.pk).update(state="pending")
    alert_digests_due(now=at(4, 8))
    InvoiceRecord.objects.filter(pk=record.pk).update(state="needs_attention")
    alert_digests_due(now=at(5, 8))
    assert len(smtp_inbox.messages) == 1
    # Booked, then broken by an edit in Eduframe: news.
    InvoiceRecord.objects.filter(pk=record.pk).update(state="booked")
    alert_digests_due(now=at(6, 8))
    InvoiceRecord.objects.filter(pk=record.pk).update(state="needs_attention", reason="Exact refuses the VAT code.")
    alert_digests_due(now=at(7, 8))
    assert len(smtp_inbox.messages) == 2
    assert "Exact refuses the VAT code." in smtp_inbox.messages[1][0].get_content()


def test_a_failed_delivery_is_tried_again_with_the_same_invoices(installation, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens: connection refused
    needing_attention(installation, "2026-0042", "The ledger 9999 does not exist.")
    assert alert_digests_due(now=at(3, 8)) == 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from django.core import mail

    assert alert_digests_due(now=at(3, 9)) == 1
    assert "2026-0042" in mail.outbox[0].body


def test_without_an_alert_address_nothing_is_sent(smtp_inbox):
    installation = InstallationFactory()
    AlertSettings.objects.create(installation=installation, emails="")
    InvoiceRecordFactory(installation=installation, state="needs_attention", reason="Broken.")
    assert alert_digests_due(now=at(3, 8)) == 0
    assert smtp_inbox.messages == []


def test_an_operator_can_send_the_digest_now(installation, smtp_inbox):
    from io import StringIO

    from django.core.management import call_command

    needing_attention(installation, "2026-0042", "The ledger 9999 does not exist.")
    out = StringIO()
    call_command("send_alert_digest", "--installation", str(installation.pk), stdout=out)
    assert "1 invoice(s) sent to finance@demo.example, it@demo.example" in out.getvalue()
    call_command("send_alert_digest", stdout=out)
    assert "nothing new, nothing sent" in out.getvalue()
    assert len(smtp_inbox.messages) == 1


def test_an_uninstalled_installation_gets_no_digest(installation, smtp_inbox):
    needing_attention(installation, "2026-0042", "The ledger 9999 does not exist.")
    installation.is_active = False
    installation.save()
    assert alert_digests_due(now=at(3, 8)) == 0
    assert smtp_inbox.messages == []
