"""`manage.py sync_invoices`: book invoices in-process, without a worker (or show what would be posted)."""

from __future__ import annotations

import json
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from plugin.models import Installation
from plugin.selectors import settings_get
from sync.connections.eduframe import eduframe_client
from sync.errors import SyncError
from sync.models import InvoiceRecord, SyncAttempt
from sync.services.invoice_dispatch import invoice_task_finished, invoice_task_started
from sync.services.invoice_preview import invoice_preview
from sync.services.invoice_queue import invoice_record_task_failure
from sync.services.invoice_sync import invoice_sync
from sync.services.reconcile import invoices_listed

WAITING_STATES = [InvoiceRecord.State.PENDING, InvoiceRecord.State.NEEDS_ATTENTION]
# How often one invoice may wait for a budget's reset before the command moves on (a worker takes it later).
MAX_WAITS = 3


def invoice_ids_since(*, installation: Installation, since: date) -> list[int]:
    """Eduframe invoices dated on or after `since`, plus booked ones since then that Eduframe no longer lists.

    installation_reconcile does the same scan but enqueues tasks for a worker; this command must run in-process.
    """
    listed = [
        invoice.id
        for invoice in invoices_listed(installation=installation)
        if invoice.opened_at is None or invoice.opened_at >= since
    ]
    vanished = InvoiceRecord.objects.filter(
        installation=installation, state=InvoiceRecord.State.BOOKED, invoice_date__gte=since
    ).exclude(eduframe_invoice_id__in=listed)
    return listed + list(vanished.values_list("eduframe_invoice_id", flat=True))


class Command(BaseCommand):
    help = "Book Eduframe invoices in Exact Online now, in this process (or, with --dry-run, print the payloads)."

    def add_arguments(self, parser):
        parser.add_argument("--installation", type=int, help="Installation id (required with --invoice when several).")
        parser.add_argument("--invoice", type=int, help="One Eduframe invoice id.")
        parser.add_argument("--since", type=date.fromisoformat, help="All Eduframe invoices dated since YYYY-MM-DD.")
        parser.add_argument("--dry-run", action="store_true", help="Print the entry payloads; write nothing to Exact.")

    def handle(self, *args, **options):
        installations = self._installations(options["installation"], options["invoice"])
        crashed = 0
        for installation in installations:
            for eduframe_invoice_id in self._targets(installation, options):
                if options["dry_run"]:
                    self._preview(installation, eduframe_invoice_id)
                elif not self._book_and_survive(installation, eduframe_invoice_id):
                    crashed += 1
        if crashed:
            raise CommandError(f"{crashed} invoice(s) stopped on an unexpected error; the sync log has each reason.")

    def _book_and_survive(self, installation: Installation, eduframe_invoice_id: int) -> bool:
        """Book one invoice; a bug on one invoice is recorded on it and the run goes on with the others."""
        try:
            self._book(installation, eduframe_invoice_id)
        except Exception as error:  # noqa: BLE001 - recorded on the invoice, reported, and the exit code says so
            record = InvoiceRecord.objects.get(installation=installation, eduframe_invoice_id=eduframe_invoice_id)
            invoice_record_task_failure(record_id=record.pk, message=repr(error), retryable=False)
            self.stderr.write(f"{installation.educator_slug} invoice {eduframe_invoice_id}: stopped on {error!r}")
            return False
        return True

    def _installations(self, installation_id: int | None, invoice_id: int | None) -> list[Installation]:
        active = Installation.objects.filter(is_active=True)
        if installation_id is not None:
            found = list(active.filter(pk=installation_id))
            if not found:
                raise CommandError(f"No active installation with id {installation_id}.")
            return found
        found = list(active)
        if invoice_id is not None and len(found) > 1:
            raise CommandError("There are several installations: name one with --installation.")
        return found

    def _targets(self, installation: Installation, options) -> list[int]:
        if options["invoice"] is not None:
            self._known_or_refuse(installation, options["invoice"])
            return [options["invoice"]]
        if options["since"] is not None:
            return invoice_ids_since(installation=installation, since=options["since"])
        waiting = InvoiceRecord.objects.filter(installation=installation, state__in=WAITING_STATES)
        return list(waiting.order_by("eduframe_invoice_id").values_list("eduframe_invoice_id", flat=True))

    def _known_or_refuse(self, installation: Installation, eduframe_invoice_id: int) -> None:
        """Refuse an id neither the sync log nor Eduframe knows (a typo): booking it would record a phantom
        invoice "deleted in Eduframe". An invoice the log knows goes through, deleted or not."""
        known = InvoiceRecord.objects.filter(installation=installation, eduframe_invoice_id=eduframe_invoice_id)
        if known.exists():
            return
        try:
            if eduframe_client(installation).get_invoice(eduframe_invoice_id) is not None:
                return
        except SyncError:
            return  # Eduframe did not say: the booking asks again and records what it hears
        raise CommandError(f"Eduframe has no invoice {eduframe_invoice_id} for {installation.educator_slug}.")

    def _book(self, installation: Installation, eduframe_invoice_id: int) -> None:
        record, _ = InvoiceRecord.objects.get_or_create(
            installation=installation, eduframe_invoice_id=eduframe_invoice_id
        )
        label = f"{installation.educator_slug} invoice {eduframe_invoice_id}"
        for _ in range(MAX_WAITS + 1):
            due_at_seen, _ = invoice_task_started(record_id=record.pk)
            attempt = invoice_sync(record_id=record.pk, trigger=SyncAttempt.Trigger.COMMAND)
            invoice_task_finished(record_id=record.pk, due_at_seen=due_at_seen)
            record.refresh_from_db()
            if not (record.state == InvoiceRecord.State.PENDING and record.waiting_for and record.next_retry_at):
                break
            # The operator's own process, not a worker: it waits out the budget Exact (or Eduframe) named.
            wait = max(0.0, (record.next_retry_at - timezone.now()).total_seconds()) + 0.2
            self.stdout.write(f"{label}: waits {wait:.0f} s for {record.get_waiting_for_display()}.")
            time.sleep(wait)
        number = f" ({record.number})" if record.number else ""
        self.stdout.write(f"{label}{number}: {attempt.get_outcome_display()} - {attempt.message}")

    def _preview(self, installation: Installation, eduframe_invoice_id: int) -> None:
        preview = invoice_preview(installation=installation, eduframe_invoice_id=eduframe_invoice_id)
        label = f"{installation.educator_slug} invoice {eduframe_invoice_id}"
        division = settings_get(installation=installation).division
        if preview.problems:
            reasons = " ".join(problem.reason for problem in preview.problems)
            self.stdout.write(f"{label}: would not be booked - {reasons}")
        else:
            self.stdout.write(f"{label}: would post to salesentry/SalesEntries in division {division}:")
        if preview.payload is not None:
            self.stdout.write(json.dumps(preview.payload, indent=2, ensure_ascii=False))
