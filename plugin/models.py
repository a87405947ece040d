"""Installations, their OAuth connections, global settings, per-course overrides and the VAT mapping."""

from __future__ import annotations

import secrets

from django.db import models

from plugin.crypto import EncryptedTextField, is_undecryptable


def _new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class Installation(models.Model):
    """One Eduframe tenant (educator) that installed the plugin."""

    class EduframeAuth(models.TextChoices):
        API_TOKEN = "api_token", "API token"
        OAUTH = "oauth", "OAuth"

    educator_slug = models.SlugField(max_length=100, unique=True)
    educator_name = models.CharField(max_length=200, blank=True)
    eduframe_educator_id = models.BigIntegerField(null=True, blank=True)
    eduframe_tenant_id = models.CharField(max_length=64, blank=True)
    eduframe_auth = models.CharField(max_length=16, choices=EduframeAuth.choices, default=EduframeAuth.API_TOKEN)
    eduframe_access_token = EncryptedTextField(blank=True)
    eduframe_refresh_token = EncryptedTextField(blank=True)
    eduframe_token_expires_at = models.DateTimeField(null=True, blank=True)
    eduframe_webhook_id = models.CharField(max_length=64, blank=True)
    webhook_secret = models.CharField(max_length=64, default=_new_webhook_secret)
    is_active = models.BooleanField(default=True)
    # Set when Eduframe refuses our token: the administrator must install again.
    eduframe_auth_error = models.TextField(blank=True)
    # Eduframe answered 429 with a Retry-After: no process calls Eduframe for this tenant before this moment.
    eduframe_throttled_until = models.DateTimeField(null=True, blank=True)
    # Raised by "sign out everywhere": a browser session bound under an older value is no longer signed in.
    session_epoch = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["educator_slug"]

    def __str__(self) -> str:
        return self.educator_name or self.educator_slug

    @property
    def eduframe_tokens_unreadable(self) -> bool:
        """No key of TOKEN_ENCRYPTION_KEY opens the stored Eduframe tokens: they must be replaced."""
        return is_undecryptable(self.eduframe_access_token) or is_undecryptable(self.eduframe_refresh_token)


class ExactConnection(models.Model):
    """The OAuth connection of an installation to one Exact Online user; tokens encrypted at rest."""

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"
        DISCONNECTED = "disconnected", "Disconnected"

    installation = models.OneToOneField(Installation, on_delete=models.CASCADE, related_name="exact_connection")
    base_url = models.URLField(help_text="The Exact Online host of the user's region.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONNECTED)
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    # When Exact last issued tokens: a refresh earlier than 570 s after this is refused by Exact.
    tokens_issued_at = models.DateTimeField(null=True, blank=True)
    exact_user_id = models.CharField(max_length=64, blank=True)
    exact_user_name = models.CharField(max_length=200, blank=True)
    exact_user_email = models.CharField(max_length=200, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    minutely_limit = models.IntegerField(null=True, blank=True)
    minutely_remaining = models.IntegerField(null=True, blank=True)
    minutely_reset_at = models.DateTimeField(null=True, blank=True)
    daily_limit = models.IntegerField(null=True, blank=True)
    daily_remaining = models.IntegerField(null=True, blank=True)
    daily_reset_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Exact connection #{self.pk} ({self.get_status_display()})"

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.CONNECTED and bool(self.refresh_token)

    @property
    def tokens_unreadable(self) -> bool:
        """No key of TOKEN_ENCRYPTION_KEY opens the stored tokens: Exact must be reconnected."""
        return is_undecryptable(self.access_token) or is_undecryptable(self.refresh_token)


class GlobalSettings(models.Model):
    """The global settings of an installation, labelled as in the Eduframe article."""

    installation = models.OneToOneField(Installation, on_delete=models.CASCADE, related_name="settings")
    division = models.IntegerField(null=True, blank=True)
    division_name = models.CharField(max_length=200, blank=True)
    sync_from = models.DateField(null=True, blank=True)
    ledger_code = models.CharField(max_length=20, blank=True)
    journal_code = models.CharField(max_length=20, blank=True)
    discount_ledger_code = models.CharField(
        max_length=20, blank=True, help_text="Optional: the ledger for discount lines (else the line's own ledger)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "global settings"

    def __str__(self) -> str:
        return f"Settings of {self.installation}"


class CourseOverride(models.Model):
    """Exact codes for one course template or one course edition; blank means: fall back."""

    class Scope(models.TextChoices):
        TEMPLATE = "template", "Course template"
        EDITION = "edition", "Course edition"

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="course_overrides")
    scope = models.CharField(max_length=10, choices=Scope.choices)
    eduframe_id = models.BigIntegerField(help_text="Eduframe course id (template) or planned course id (edition).")
    # For an edition: its template, so that a template's page can list its editions' overrides.
    eduframe_course_id = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(max_length=300, blank=True)
    ledger_code = models.CharField(max_length=20, blank=True)
    cost_center = models.CharField(max_length=20, blank=True)
    cost_unit = models.CharField(max_length=20, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["installation", "scope", "eduframe_id"], name="one_override_per_course")
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.eduframe_id}"


class VatMapping(models.Model):
    """An Eduframe VAT rate mapped to an Exact sales VAT code (by default: the one with that percentage)."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="vat_mappings")
    eduframe_vat_id = models.BigIntegerField()
    eduframe_name = models.CharField(max_length=100, blank=True)
    percentage = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    exact_vat_code = models.CharField(max_length=10, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["installation", "eduframe_vat_id"], name="one_mapping_per_vat_rate")
        ]

    def __str__(self) -> str:
        return f"{self.eduframe_name or self.eduframe_vat_id} -> {self.exact_vat_code or '(by percentage)'}"


class AdminSession(models.Model):
    """A browser signed in to an installation: listed on the Security page, signed out one by one or all at once."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="admin_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    method = models.CharField(max_length=16, choices=Installation.EduframeAuth.choices)
    signed_in_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]

    def __str__(self) -> str:
        return f"Sign-in #{self.pk} with {self.get_method_display()}"


class AuditEntry(models.Model):
    """One change an administrator made (settings, overrides, VAT mapping, connection, credentials): who and when."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="audit_entries")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Who, as far as we know: the sign-in (its method, number and address); Eduframe tokens name no person.
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=64)
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} by {self.actor}"
