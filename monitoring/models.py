"""Alerts (who gets them, which incidents were told, which invoices were reported) and the metric tallies."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from plugin.models import Installation
from sync.models import InvoiceRecord, SyncAttempt


class AlertSettings(models.Model):
    """Where an installation's alerts go: the settings page's `Alert e-mail`."""

    installation = models.OneToOneField(Installation, on_delete=models.CASCADE, related_name="alert_settings")
    emails = models.TextField(blank=True, help_text="One or more addresses, separated by commas.")
    # The day whose digest was sent (or found empty): one digest a day, whichever process runs it.
    last_digest_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return f"Alerts of {self.installation}"

    @property
    def recipients(self) -> list[str]:
        return [address.strip() for address in self.emails.split(",") if address.strip()]


class AlertIncident(models.Model):
    """One incident (a connection to reconnect, a budget spent ...): told once, closed when it is over."""

    class Kind(models.TextChoices):
        EXACT_RECONNECT = "exact_reconnect", "Exact Online needs reconnecting"
        EDUFRAME_REFUSED = "eduframe_refused", "Eduframe refuses the credentials"
        EXACT_TOKEN_LAPSING = "exact_token_lapsing", "Exact Online's connection is about to lapse"
        EXACT_BUDGET_SPENT = "exact_budget_spent", "Exact Online's daily budget is spent"
        TOKENS_UNREADABLE = "tokens_unreadable", "Stored credentials cannot be decrypted"

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="alert_incidents")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # Tells apart incidents of one kind that are separate news (the budget of another day).
    key = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "kind", "key"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_incident_per_kind",
            )
        ]
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({'open' if self.resolved_at is None else 'closed'})"


class AttentionReported(models.Model):
    """An invoice that needs attention and was in a digest: not reported again until it is resolved."""

    invoice = models.OneToOneField(InvoiceRecord, on_delete=models.CASCADE, related_name="attention_report")
    reason = models.TextField(blank=True)
    reported_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.invoice} reported {self.reported_at:%Y-%m-%d}"


class AttemptTallied(models.Model):
    """A booking attempt already counted in the tallies: a second save of the same attempt adds nothing.

    A row of its own (not a flag on the attempt), so an older in-memory copy of the attempt saved later cannot
    write the mark back to "not counted"."""

    attempt = models.OneToOneField(SyncAttempt, on_delete=models.CASCADE, primary_key=True, related_name="+")

    def __str__(self) -> str:
        return f"Attempt #{self.pk} tallied"


class Tally(models.Model):
    """A counter that every process adds to with one UPDATE: /metrics reads it, so nothing is lost between
    gunicorn and Celery processes or machines. `total` sums observed values (seconds, for durations)."""

    name = models.CharField(max_length=64)
    labels = models.CharField(max_length=255, help_text="The label values, as sorted JSON.")
    count = models.BigIntegerField(default=0)
    total = models.FloatField(default=0.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "labels"], name="one_tally_per_label_set")]

    def __str__(self) -> str:
        return f"{self.name}{self.labels} = {self.count}"
