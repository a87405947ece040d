"""`manage.py reconciliation_report --installation ID --period YYYY-MM [--csv]`: one month reconciled.

Prints one line per difference (the invoice number first), then the totals of Eduframe and of Exact. The
expected calls are written to stderr first, so that stdout holds the report alone.
"""

from __future__ import annotations

import re
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from plugin.models import Installation
from sync.errors import SyncError
from sync.services.reconciliation import reconciliation_estimate, report_make
from sync.services.reconciliation_export import report_csv, report_lines

# An operator at a shell waits out Eduframe's Retry-After (its rate window is five minutes) rather than getting
# a refusal: during a catch-up the workers' calls often leave the tenant throttled for minutes.
OPERATOR_THROTTLE_WAIT = 330.0

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(text: str) -> tuple[int, int]:
    match = PERIOD.match(text or "")
    if match is None:
        raise CommandError(f"--period must be a month as YYYY-MM (for example 2026-03), not {text!r}.")
    return int(match[1]), int(match[2])


class Command(BaseCommand):
    help = "Reconcile one month: Eduframe's invoices against the sales entries in Exact Online."

    def add_arguments(self, parser):
        parser.add_argument("--installation", type=int, required=True, help="The installation id.")
        parser.add_argument("--period", required=True, help="The month, as YYYY-MM.")
        parser.add_argument("--csv", action="store_true", help="Print CSV instead of text.")

    def handle(self, *args, **options):
        year, month = parse_period(options["period"])
        installation = Installation.objects.filter(pk=options["installation"]).first()
        if installation is None:
            raise CommandError(f"No installation with id {options['installation']}.")
        estimate = reconciliation_estimate(installation=installation, year=year)
        self.stderr.write(f"Expected calls: about {estimate.eduframe} to Eduframe, {estimate.exact} to Exact Online.")
        self._wait_out_eduframe_throttle(installation)
        try:
            report, eduframe_calls, exact_calls = report_make(
                installation=installation, year=year, month=month, max_throttle_wait=OPERATOR_THROTTLE_WAIT
            )
        except SyncError as error:
            raise CommandError(error.message) from error
        if options["csv"]:
            self.stdout.write(report_csv(report), ending="")
        else:
            self.stdout.write("\n".join(report_lines(report)))
        self.stderr.write(f"Calls made: {eduframe_calls} to Eduframe, {exact_calls} to Exact Online.")

    def _wait_out_eduframe_throttle(self, installation: Installation) -> None:
        """Say so and wait while an earlier 429 of Eduframe still throttles this installation."""
        installation.refresh_from_db(fields=["eduframe_throttled_until"])
        until = installation.eduframe_throttled_until
        wait = (until - timezone.now()).total_seconds() if until else 0.0
        if wait <= 0:
            return
        if wait > OPERATOR_THROTTLE_WAIT:
            raise CommandError(
                f"Eduframe's rate limit is reached; try again after {timezone.localtime(until):%H:%M:%S}."
            )
        self.stderr.write(f"Eduframe's rate limit is reached; waiting {wait:.0f} s for it to pass.")
        time.sleep(wait)
