"""Django admin for operators: installations with their counts and actions; tokens are never shown."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q

from plugin.models import AuditEntry, CourseOverride, ExactConnection, GlobalSettings, Installation, VatMapping
from sync.models import InvoiceRecord, SyncAttempt

State = InvoiceRecord.State


@admin.register(Installation)
class InstallationAdmin(admin.ModelAdmin):
    list_display = ["educator_slug", "educator_name", "is_active", "exact_status", "booked", "pending", "attention"]
    list_filter = ["is_active", "exact_connection__status"]
    search_fields = ["educator_slug", "educator_name", "eduframe_tenant_id"]
    list_select_related = ["exact_connection"]
    # Secrets stay out of the admin: the Eduframe tokens and the webhook secret.
    exclude = ["eduframe_access_token", "eduframe_refresh_token", "webhook_secret"]
    readonly_fields = ["eduframe_webhook_id", "eduframe_auth_error", "created_at", "updated_at"]
    actions = ["resync_all", "retry_attention"]

    def get_queryset(self, request):
        def count(state):
            return Count("invoices", filter=Q(invoices__state=state))

        return (
            super()
            .get_queryset(request)
            .annotate(
                n_booked=count(State.BOOKED), n_pending=count(State.PENDING), n_attention=count(State.NEEDS_ATTENTION)
            )
        )

    @admin.display(description="Exact")
    def exact_status(self, obj: Installation) -> str:
        connection = getattr(obj, "exact_connection", None)
        return connection.get_status_display() if connection else "Not connected"

    @admin.display(description="Booked", ordering="n_booked")
    def booked(self, obj) -> int:
        return obj.n_booked

    @admin.display(description="Pending", ordering="n_pending")
    def pending(self, obj) -> int:
        return obj.n_pending

    @admin.display(description="Needs attention", ordering="n_attention")
    def attention(self, obj) -> int:
        return obj.n_attention

    @admin.action(description="Resync all invoices of the selected installations")
    def resync_all(self, request, queryset) -> None:
        from sync.services.invoice_dispatch import reconcile_request
        from sync.services.reconcile import installations_ready

        ready = list(installations_ready().filter(pk__in=queryset.values("pk")).values_list("pk", flat=True))
        for installation_id in ready:
            reconcile_request(installation_id=installation_id)
        self.message_user(request, f"Reconciliation started for {len(ready)} installation(s).", messages.SUCCESS)
        if skipped := queryset.count() - len(ready):
            self.message_user(
                request,
                f"{skipped} installation(s) skipped: inactive, not connected to Exact, or settings incomplete.",
                messages.WARNING,
            )

    @admin.action(description="Retry all that need attention")
    def retry_attention(self, request, queryset) -> None:
        from sync.services.invoice_queue import invoices_retry_attention

        total = sum(invoices_retry_attention(installation=i, trigger=SyncAttempt.Trigger.ADMIN) for i in queryset)
        self.message_user(request, f"{total} invoice(s) queued again.", messages.SUCCESS)


@admin.register(ExactConnection)
class ExactConnectionAdmin(admin.ModelAdmin):
    list_display = ["installation", "status", "exact_user_name", "division", "daily_remaining", "last_error_at"]
    list_filter = ["status"]
    search_fields = ["installation__educator_slug", "exact_user_name", "exact_user_email"]
    list_select_related = ["installation", "installation__settings"]
    # Tokens are never shown, not even encrypted. The host and the installation are read-only: changing either
    # would send a tenant's tokens and the app's client secret to another URL, or to another tenant.
    exclude = ["access_token", "refresh_token"]
    readonly_fields = [
        "installation",
        "base_url",
        "access_expires_at",
        "tokens_issued_at",
        "last_success_at",
        "last_error",
        "last_error_at",
    ]

    def has_add_permission(self, request) -> bool:
        # A connection is made by the administrator's OAuth consent, never typed in.
        return False

    @admin.display(description="Division")
    def division(self, obj: ExactConnection):
        settings = getattr(obj.installation, "settings", None)
        return settings.division if settings else None


@admin.register(GlobalSettings)
class GlobalSettingsAdmin(admin.ModelAdmin):
    list_display = ["installation", "division", "division_name", "sync_from", "ledger_code", "journal_code"]
    search_fields = ["installation__educator_slug", "division_name"]
    list_select_related = ["installation"]
    raw_id_fields = ["installation"]


@admin.register(CourseOverride)
class CourseOverrideAdmin(admin.ModelAdmin):
    list_display = ["installation", "scope", "eduframe_id", "name", "ledger_code", "cost_center", "cost_unit"]
    list_filter = ["scope", "installation"]
    search_fields = ["name", "=eduframe_id"]
    list_select_related = ["installation"]
    raw_id_fields = ["installation"]


@admin.register(VatMapping)
class VatMappingAdmin(admin.ModelAdmin):
    list_display = ["installation", "eduframe_vat_id", "eduframe_name", "percentage", "exact_vat_code"]
    list_filter = ["installation"]
    search_fields = ["eduframe_name", "exact_vat_code"]
    list_select_related = ["installation"]
    raw_id_fields = ["installation"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """What administrators changed, for operators to read; nobody edits history."""

    list_display = ["at", "installation", "actor", "action", "summary"]
    list_filter = ["action", "installation"]
    search_fields = ["installation__educator_slug", "actor", "action", "summary"]
    list_select_related = ["installation"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
