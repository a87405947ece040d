"""Django admin for operators: the sync log (read-only) and a resync action per invoice."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.text import Truncator

from sync.models import AccountLink, ExactLookupCache, InvoiceRecord, SyncAttempt, WebhookEvent
from sync.reconciliation_models import ReconciliationRun


class ReadOnlyMixin:
    """The sync writes these rows; operators read them and act through actions only."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SyncAttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = SyncAttempt
    fields = readonly_fields = (
        "started_at",
        "trigger",
        "outcome",
        "error_kind",
        "message",
        "exact_entry_number",
        "exact_calls",
    )
    extra = 0
    show_change_link = True


@admin.register(InvoiceRecord)
class InvoiceRecordAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["eduframe_invoice_id", "number", "state", "account_name", "short_reason", "exact_entry_number"]
    list_filter = ["state", "error_kind", "installation"]
    search_fields = ["number", "account_name", "=eduframe_invoice_id", "=exact_entry_number"]
    list_select_related = ["installation"]
    raw_id_fields = ["installation"]
    exclude = ["claim_token"]
    inlines = [SyncAttemptInline]
    actions = ["resync_selected"]

    @admin.display(description="Reason")
    def short_reason(self, obj: InvoiceRecord) -> str:
        return Truncator(obj.reason).chars(80)

    @admin.action(description="Resync selected invoices")
    def resync_selected(self, request, queryset) -> None:
        from sync.services.invoice_queue import invoice_enqueue

        for record in queryset.select_related("installation"):
            invoice_enqueue(
                installation=record.installation,
                eduframe_invoice_id=record.eduframe_invoice_id,
                trigger=SyncAttempt.Trigger.ADMIN,
            )
        self.message_user(request, f"{queryset.count()} invoice(s) queued for a resync.", messages.SUCCESS)


@admin.register(SyncAttempt)
class SyncAttemptAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "invoice", "trigger", "outcome", "error_kind", "message", "exact_calls", "started_at"]
    list_filter = ["outcome", "trigger", "error_kind", "invoice__installation"]
    search_fields = ["=invoice__eduframe_invoice_id", "invoice__number", "message", "exact_message"]
    list_select_related = ["invoice", "invoice__installation"]
    raw_id_fields = ["invoice"]
    date_hierarchy = "started_at"


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "installation", "event", "entity_id", "received_at", "processed_at", "error"]
    list_filter = ["event", "installation"]
    search_fields = ["=entity_id", "raw_body", "error"]
    list_select_related = ["installation"]
    raw_id_fields = ["installation"]
    date_hierarchy = "received_at"


@admin.register(AccountLink)
class AccountLinkAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["eduframe_account_id", "exact_code", "exact_account_id", "exact_division", "installation"]
    list_filter = ["installation"]
    search_fields = ["=eduframe_account_id", "exact_code"]
    list_select_related = ["installation"]
    raw_id_fields = ["installation"]


@admin.register(ExactLookupCache)
class ExactLookupCacheAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["installation", "division", "kind", "fetched_at"]
    list_filter = ["kind", "installation"]
    list_select_related = ["installation"]
    raw_id_fields = ["installation"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a cached lookup is how an operator forces a fresh read from Exact.
        return super(ReadOnlyMixin, self).has_delete_permission(request, obj)


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The reconciliation reports administrators ran: their calls, status and error (the result is on the page)."""

    list_display = ["created_at", "installation", "period", "status", "eduframe_calls", "exact_calls", "error"]
    list_filter = ["status", "installation"]
    list_select_related = ["installation"]
    raw_id_fields = ["installation"]
