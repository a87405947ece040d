"""The sync's own records: one row per Eduframe invoice, its attempts, account links, webhook events."""

from __future__ import annotations

from django.db import models

from plugin.models import Installation


class InvoiceRecord(models.Model):
    """The current state of one Eduframe invoice in Exact, with the Exact ids beside the Eduframe id."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        BOOKED = "booked", "Booked"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        SKIPPED = "skipped", "Skipped"
        DELETED = "deleted", "Removed from Exact"

    class ErrorKind(models.TextChoices):
        NONE = "", "None"
        RETRYABLE = "retryable", "Temporary"
        AUTH = "auth", "Connection"
        FUNCTIONAL = "functional", "Needs a fix"

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="invoices")
    eduframe_invoice_id = models.BigIntegerField()
    eduframe_account_id = models.BigIntegerField(null=True, blank=True)
    number = models.CharField(max_length=64, blank=True)
    account_name = models.CharField(max_length=300, blank=True)
    eduframe_status = models.CharField(max_length=20, blank=True)
    invoice_date = models.DateField(null=True, blank=True)
    total_incl = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    eduframe_updated_at = models.DateTimeField(null=True, blank=True)

    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING, db_index=True)
    reason = models.TextField(blank=True, help_text="Why the invoice is in this state, in plain words.")
    fix_hint = models.TextField(blank=True, help_text="What to fix, when something must be fixed.")
    error_kind = models.CharField(max_length=12, choices=ErrorKind.choices, blank=True, default="")

    exact_entry_id = models.UUIDField(null=True, blank=True)
    exact_entry_number = models.IntegerField(null=True, blank=True)
    exact_document_id = models.UUIDField(null=True, blank=True)
    exact_division = models.IntegerField(null=True, blank=True)
    booked_fingerprint = models.CharField(max_length=64, blank=True)
    booked_payload = models.JSONField(null=True, blank=True)
    booked_at = models.DateTimeField(null=True, blank=True)

    class Priority(models.IntegerChoices):
        CHANGED = 0, "New or changed"
        CATCH_UP = 1, "Catch-up"

    class WaitingFor(models.TextChoices):
        NOTHING = "", "Nothing"
        EXACT_MINUTE = "exact_minute", "Exact's per-minute limit"
        EXACT_DAY = "exact_day", "Exact's daily limit"
        EDUFRAME = "eduframe", "Eduframe asked us to slow down"

    retry_count = models.IntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The schedule (sync/services/invoice_dispatch.py): the database, not the broker, holds pending work.
    # due_at: a sync is wanted from this moment on (None: nothing to do); queued_at: its one task is in the
    # broker or running (None: no task); priority: new and changed invoices before catch-up work.
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    priority = models.SmallIntegerField(choices=Priority.choices, default=Priority.CHANGED)
    due_trigger = models.CharField(max_length=12, blank=True, help_text="What asked for the pending sync.")
    waiting_for = models.CharField(max_length=16, choices=WaitingFor.choices, blank=True, default="")
    # The Exact calls the dispatcher kept for the task in flight (its estimate when sent) from its tenant's window.
    reserved_calls = models.PositiveSmallIntegerField(default=0)
    # The per-invoice lock: claimed with a conditional UPDATE, released when the attempt ends.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    # Who holds the claim ("host:pid:start"): a restarted worker frees the claims its dead predecessor held.
    claim_holder = models.CharField(max_length=120, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["installation", "eduframe_invoice_id"], name="one_record_per_invoice")
        ]
        indexes = [
            # The claims held right now: the claim recovery reads them every 30 seconds.
            models.Index(fields=["claimed_until"], name="held_claims", condition=~models.Q(claim_token="")),
            # The dispatcher's "what is due for this tenant".
            models.Index(fields=["installation", "due_at"], name="invoice_due_per_tenant"),
        ]
        ordering = ["-eduframe_invoice_id"]

    def __str__(self) -> str:
        return f"Invoice {self.number or self.eduframe_invoice_id} ({self.get_state_display()})"


class TenantQueue(models.Model):
    """One tenant's place in the round-robin of the dispatcher, and its one wake-up at a budget's reset."""

    installation = models.OneToOneField(Installation, on_delete=models.CASCADE, related_name="queue")
    last_dispatched_at = models.DateTimeField(null=True, blank=True)
    # Until then the tenant waits (a budget's reset, Eduframe's Retry-After): the dispatcher passes it by.
    wake_at = models.DateTimeField(null=True, blank=True)
    # Seconds between two successive minutely resets seen in Exact's headers (for the ETA on the log page).
    window_seconds = models.FloatField(null=True, blank=True)
    last_minutely_reset_at = models.DateTimeField(null=True, blank=True)
    # Reconciliation lists only invoices that can still change (open) between two full scans.
    last_full_scan_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Queue of {self.installation}"


class SyncAttempt(models.Model):
    """One try to bring an invoice into Exact: what triggered it, what was sent, what Exact said."""

    class Trigger(models.TextChoices):
        WEBHOOK = "webhook", "Eduframe webhook"
        RECONCILE = "reconcile", "Scheduled reconciliation"
        RETRY = "retry", "Scheduled retry"
        MANUAL = "manual", "Retry by an administrator"
        SETTINGS = "settings", "Settings changed"
        COMMAND = "command", "Operator command"
        ADMIN = "admin", "Operator (admin)"

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        CREATED = "created", "Booked"
        UPDATED = "updated", "Updated"
        UNCHANGED = "unchanged", "Unchanged"
        SKIPPED = "skipped", "Skipped"
        DELETED = "deleted", "Removed from Exact"
        FAILED = "failed", "Failed"

    invoice = models.ForeignKey(InvoiceRecord, on_delete=models.CASCADE, related_name="attempts")
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.RUNNING)
    error_kind = models.CharField(max_length=12, choices=InvoiceRecord.ErrorKind.choices, blank=True, default="")
    message = models.TextField(blank=True, help_text="In plain words.")
    exact_message = models.TextField(blank=True, help_text="Exact's own error text, word for word.")
    request_payload = models.JSONField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    decisions = models.JSONField(null=True, blank=True, help_text="Which rule chose each code, per line.")
    exact_entry_id = models.UUIDField(null=True, blank=True)
    exact_entry_number = models.IntegerField(null=True, blank=True)
    exact_calls = models.IntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Attempt #{self.pk} ({self.get_outcome_display()})"


class AccountLink(models.Model):
    """The Exact account that stands for one Eduframe account."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="account_links")
    eduframe_account_id = models.BigIntegerField()
    exact_division = models.IntegerField(null=True, blank=True)
    exact_account_id = models.UUIDField(null=True, blank=True)
    exact_code = models.CharField(max_length=18, blank=True)
    synced_fingerprint = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Origin(models.TextChoices):
        NONE = "", "Not linked yet"
        CREATED = "created", "Created by EduExact"
        NAME_MATCH = "name_match", "Existing account, same name"
        ADMIN = "admin", "Linked by an administrator"

    # Whose account it is decides what EduExact may change: only its own (CREATED) gets Eduframe's fields.
    origin = models.CharField(max_length=12, choices=Origin.choices, blank=True, default="")
    # What was last sent to Exact for an account we created: the next PUT carries only what changed since.
    synced_fields = models.JSONField(default=dict, blank=True)
    # An existing Exact account that matches by VAT number or e-mail but not by name: the administrator decides.
    candidate_account_id = models.UUIDField(null=True, blank=True)
    candidate_code = models.CharField(max_length=18, blank=True)
    candidate_name = models.CharField(max_length=300, blank=True)
    candidate_matched_by = models.CharField(max_length=20, blank=True)
    # The administrator chose "create a new account" over the candidate: matches by VAT/e-mail are ignored.
    create_new = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["installation", "eduframe_account_id"], name="one_link_per_account")
        ]

    def __str__(self) -> str:
        return f"Eduframe account {self.eduframe_account_id} -> {self.exact_account_id}"


class WebhookEvent(models.Model):
    """A webhook as Eduframe sent it, stored before it is processed."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="webhook_events")
    received_at = models.DateTimeField(auto_now_add=True)
    raw_body = models.TextField()
    event = models.CharField(max_length=64, blank=True)
    entity_type = models.CharField(max_length=64, blank=True)
    entity_id = models.BigIntegerField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # When its processing task was sent; None: deferred (over the installation's rate), the sweep sends it later.
    queued_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The receiver's rate limit counts an installation's webhooks of the last minute.
            models.Index(fields=["installation", "received_at"], name="webhook_rate_window"),
            # The sweep looks for deferred (or lost) events among the few not yet processed.
            models.Index(
                fields=["installation", "received_at"],
                condition=models.Q(processed_at__isnull=True),
                name="webhook_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event or 'webhook'} #{self.pk}"


class ExactLookupCache(models.Model):
    """Cached Exact lookups (journals, GL accounts, cost centers/units, VAT codes) per division."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="lookup_caches")
    division = models.IntegerField()
    kind = models.CharField(max_length=32)
    data = models.JSONField(default=list)
    fetched_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["installation", "division", "kind"], name="one_cache_per_lookup")
        ]

    def __str__(self) -> str:
        return f"{self.kind} of division {self.division}"


class ExactCallDay(models.Model):
    """Exact calls of one installation's division on one day: one row per day, counted with an UPDATE per call.

    Feeds the sync log's chart (calls per day against the daily limit) and the /metrics counters; kept
    for good (a row a day per division), so that the counters never go back.
    """

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="exact_call_days")
    division = models.IntegerField()
    day = models.DateField()
    calls = models.IntegerField(default=0)
    rate_limited = models.IntegerField(default=0, help_text="Calls Exact answered with 429.")
    daily_limit = models.IntegerField(null=True, blank=True, help_text="The daily limit Exact announced that day.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["installation", "division", "day"], name="one_call_count_per_day")
        ]
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.calls} Exact calls of division {self.division} on {self.day}"


from sync.reconciliation_models import ReconciliationRun  # noqa: E402,F401  (its own module, one job)


class ExactAccountIndex(models.Model):
    """A local copy of one division's Exact accounts, read through `sync/CRM/Accounts` (account_index.py).

    `cursor`: the highest account `Timestamp` read; `deleted_cursor`: the same for `sync/Deleted`. `complete`:
    a read reached the end once (a partial index matches nothing). `refused_at`: Exact refused a sync endpoint;
    the search is used instead and the endpoint is not asked again for a while (each refusal is an error answer).
    """

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="account_indexes")
    division = models.IntegerField()
    cursor = models.BigIntegerField(default=0)
    deleted_cursor = models.BigIntegerField(default=0)
    complete = models.BooleanField(default=False)
    pages_read = models.IntegerField(default=0)  # of the first, full read: it stops where it stops paying
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refused_at = models.DateTimeField(null=True, blank=True)
    # The lease of the process reading it now (claimed with a conditional UPDATE; a dead reader's lapses).
    reading_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["installation", "division"], name="one_account_index_per_division")
        ]

    def __str__(self) -> str:
        return f"Account index of division {self.division}"


class ExactIndexedAccount(models.Model):
    """One Exact account in an ExactAccountIndex, with the keys the account match compares (Exact's way)."""

    index = models.ForeignKey(ExactAccountIndex, on_delete=models.CASCADE, related_name="accounts")
    account_id = models.UUIDField()
    timestamp = models.BigIntegerField()
    fields = models.JSONField(default=dict)  # the row as Exact sent it (ACCOUNT_FIELDS)
    # Exact's `eq` on strings ignores case and trailing spaces (SQL Server collation): these hold the value
    # right-stripped and lower-cased, so an equality here is an equality there.
    code_key = models.CharField(max_length=64, blank=True)
    vat_key = models.CharField(max_length=64, blank=True)
    email_key = models.CharField(max_length=254, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["index", "account_id"], name="one_row_per_indexed_account")]
        indexes = [
            models.Index(fields=["index", "code_key"], name="indexed_account_code"),
            models.Index(fields=["index", "vat_key"], name="indexed_account_vat"),
            models.Index(fields=["index", "email_key"], name="indexed_account_email"),
        ]

    def __str__(self) -> str:
        return f"Exact account {self.account_id}"
