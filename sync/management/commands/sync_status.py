"""`manage.py sync_status`: per installation, the invoices per state, the oldest pending and the last error."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from plugin.models import Installation
from sync.local_time import local_stamp
from sync.selectors import sync_status


class Command(BaseCommand):
    help = "Show, per installation, how many invoices are in each state, the oldest pending one and the last error."

    def add_arguments(self, parser):
        parser.add_argument("--installation", type=int, help="Only this installation id.")

    def handle(self, *args, **options):
        installations = Installation.objects.all()
        if options["installation"] is not None:
            installations = installations.filter(pk=options["installation"])
            if not installations.exists():
                raise CommandError(f"No installation with id {options['installation']}.")
        for installation in installations:
            self._report(installation)

    def _report(self, installation: Installation) -> None:
        status = sync_status(installation=installation)
        self.stdout.write(f"Installation {installation.pk} ({installation}): {status.total} invoice(s)")
        for state, count in status.counts.items():
            self.stdout.write(f"  {state}: {count}")
        oldest = status.oldest_pending
        if oldest is not None:
            since = local_stamp(oldest.created_at)
            number = f" ({oldest.number})" if oldest.number else ""
            reason = f" - {oldest.reason}" if oldest.reason else ""
            self.stdout.write(f"  oldest pending: invoice {oldest.eduframe_invoice_id}{number} since {since}{reason}")
        last = status.last_error
        if last is not None:
            when = local_stamp(last.started_at)
            invoice = last.invoice.number or last.invoice.eduframe_invoice_id
            self.stdout.write(f"  last error: {when}, invoice {invoice} - {last.message}")
