"""One run of the reconciliation report: asked for on the page, filled by a background task."""

from __future__ import annotations

from django.db import models

from plugin.models import Installation


class ReconciliationRun(models.Model):
    """A month of Eduframe invoices against Exact's sales entries: estimate, progress, then the result."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="reconciliation_runs")
    year = models.IntegerField()
    month = models.IntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Progress in API calls (Eduframe pages and Exact pages): the estimate until the real count is known.
    steps_done = models.IntegerField(default=0)
    steps_total = models.IntegerField(default=1)
    estimated_exact_calls = models.IntegerField(default=0)
    estimated_eduframe_calls = models.IntegerField(default=0)
    exact_calls = models.IntegerField(default=0)
    eduframe_calls = models.IntegerField(default=0)
    result = models.JSONField(null=True, blank=True, help_text="The report: totals, months, differences.")
    error = models.TextField(blank=True)
    booked_again_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The worker making the report: when it started, when it last made progress (each API call), and which
    # process it is ("host:pid:start"): a run whose worker died is seen as abandoned (reconciliation_recovery.py).
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    holder = models.CharField(max_length=120, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Reconciliation {self.year}-{self.month:02d} ({self.get_status_display()})"

    @property
    def period(self) -> str:
        return f"{self.year}-{self.month:02d}"
