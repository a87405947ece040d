"""Operators see the alert settings and incidents (read-only figures stay in /metrics)."""

from django.contrib import admin

from monitoring.models import AlertIncident, AlertSettings


@admin.register(AlertSettings)
class AlertSettingsAdmin(admin.ModelAdmin):
    list_display = ["installation", "emails", "last_digest_on"]
    search_fields = ["installation__educator_slug", "emails"]


@admin.register(AlertIncident)
class AlertIncidentAdmin(admin.ModelAdmin):
    list_display = ["installation", "kind", "key", "opened_at", "notified_at", "resolved_at"]
    list_filter = ["kind"]
    readonly_fields = ["installation", "kind", "key", "message", "opened_at", "notified_at", "resolved_at"]
