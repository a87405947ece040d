"""The operators' admin: staff only, tokens never shown, resync and retry actions enqueue work."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from django.urls import reverse

from sync import tasks
from sync.models import InvoiceRecord, SyncAttempt, WebhookEvent
from tests.factories import InvoiceRecordFactory

State = InvoiceRecord.State


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _action(client, model: str, action: str, ids: list[int]):
    url = reverse(f"admin:{model}_changelist")
    return client.post(url, {"action": action, "_selected_action": ids}, follow=True)


def test_a_non_staff_user_is_sent_to_the_login_page(client, django_user_model, installation):
    client.force_login(django_user_model.objects.create_user("someone", password="x" * 12))
    response = client.get(reverse("admin:sync_invoicerecord_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize(
    "model",
    ["plugin_installation", "plugin_exactconnection", "plugin_globalsettings", "plugin_courseoverride"]
    + ["plugin_vatmapping", "sync_invoicerecord", "sync_syncattempt", "sync_webhookevent"],
)
def test_every_admin_page_opens_for_staff(staff_client, installation, model):
    assert staff_client.get(reverse(f"admin:{model}_changelist")).status_code == 200


def test_the_exact_connection_page_never_shows_the_tokens(staff_client, installation):
    connection = installation.exact_connection
    connection.access_token, connection.refresh_token = "access-SECRET-1", "refresh-SECRET-2"
    connection.save()
    response = staff_client.get(reverse("admin:plugin_exactconnection_change", args=[connection.pk]))
    assert response.status_code == 200
    assert b"SECRET" not in response.content
    assert b"access_token" not in response.content


def test_the_installation_page_shows_neither_tokens_nor_the_webhook_secret(staff_client, installation):
    response = staff_client.get(reverse("admin:plugin_installation_change", args=[installation.pk]))
    assert installation.webhook_secret.encode() not in response.content
    assert b"demo-token" not in response.content


def test_the_installation_list_shows_the_counts_per_state(staff_client, installation):
    InvoiceRecordFactory.create_batch(2, installation=installation, state=State.BOOKED)
    InvoiceRecordFactory(installation=installation, state=State.NEEDS_ATTENTION)
    response = staff_client.get(reverse("admin:plugin_installation_changelist"))
    assert response.context["cl"].result_list[0].n_booked == 2
    assert response.context["cl"].result_list[0].n_attention == 1


def test_resync_selected_invoices_enqueues_each_as_an_admin_sync(
    staff_client, installation, sync_delay, django_capture_on_commit_callbacks
):
    records = InvoiceRecordFactory.create_batch(2, installation=installation, state=State.NEEDS_ATTENTION)
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(staff_client, "sync_invoicerecord", "resync_selected", [r.pk for r in records])
    assert b"2 invoice(s) queued" in response.content
    assert sorted(c.args for c in sync_delay.call_args_list) == sorted((r.pk, "admin") for r in records)


def test_resync_all_starts_a_reconciliation_of_the_selected_installation(
    staff_client, installation, reconcile_delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _action(staff_client, "plugin_installation", "resync_all", [installation.pk])
    reconcile_delay.assert_called_once_with(installation.pk, None)


def test_retry_all_that_need_attention_requeues_them(
    staff_client, installation, sync_delay, django_capture_on_commit_callbacks
):
    record = InvoiceRecordFactory(installation=installation, state=State.NEEDS_ATTENTION)
    with django_capture_on_commit_callbacks(execute=True):
        _action(staff_client, "plugin_installation", "retry_attention", [installation.pk])
    sync_delay.assert_called_once_with(record.pk, "admin")


def test_the_sync_log_is_read_only(staff_client, installation):
    record = InvoiceRecordFactory(installation=installation)
    attempt = SyncAttempt.objects.create(invoice=record, trigger="webhook")
    event = WebhookEvent.objects.create(installation=installation, raw_body="{}")
    for model, pk in [
        ("sync_syncattempt", attempt.pk),
        ("sync_webhookevent", event.pk),
        ("sync_invoicerecord", record.pk),
    ]:
        url = reverse(f"admin:{model}_change", args=[pk])
        with patch.object(tasks.sync_invoice_task, "delay", autospec=True):
            staff_client.post(url, {"state": State.BOOKED, "raw_body": "changed"})
    record.refresh_from_db()
    event.refresh_from_db()
    assert (record.state, event.raw_body) == (State.PENDING, "{}")
    assert staff_client.get(reverse("admin:sync_syncattempt_add")).status_code == 403
