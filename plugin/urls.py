from django.urls import path
from django.views.generic import RedirectView

from plugin.views import account_choice, courses, exact, install, log, reconciliation, security, settings

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="settings", permanent=False)),
    path("install/", install.install, name="install"),
    path("install/callback", install.install_callback, name="install-callback"),
    path("exact/callback", exact.callback, name="exact-callback"),
    path("settings/", settings.settings_page, name="settings"),
    path("settings/progress", settings.backfill_progress_json, name="backfill-progress"),
    path("settings/sync-from-estimate", settings.sync_from_estimate_json, name="sync-from-estimate"),
    path("settings/exact/connect", exact.connect, name="exact-connect"),
    path("settings/exact/division", exact.division, name="exact-division"),
    path("settings/exact/disconnect", exact.disconnect, name="exact-disconnect"),
    path("settings/vat/", settings.vat_mapping, name="vat-mapping"),
    path("settings/courses/", courses.course_list, name="courses"),
    path("settings/courses/<int:course_id>/", courses.course_detail, name="course"),
    path("settings/editions/<int:edition_id>/", courses.edition_detail, name="edition"),
    path("settings/log/", log.log_list, name="sync-log"),
    path("settings/log/retry-attention", log.log_retry_all, name="log-retry-all"),
    path("settings/log/preview/<int:invoice_id>/", log.log_preview, name="log-preview"),
    path("settings/log/<int:record_id>/", log.log_detail, name="log-detail"),
    path("settings/log/<int:record_id>/retry", log.log_retry, name="log-retry"),
    path("settings/log/<int:record_id>/account", account_choice.account_choice, name="log-account-choice"),
    path("settings/reconciliation/", reconciliation.reconciliation_page, name="reconciliation"),
    path("settings/reconciliation/run", reconciliation.reconciliation_start, name="reconciliation-run"),
    path(
        "settings/reconciliation/<int:run_id>/progress",
        reconciliation.reconciliation_progress,
        name="reconciliation-progress",
    ),  # fmt: skip
    path("settings/reconciliation/<int:run_id>/csv", reconciliation.reconciliation_csv, name="reconciliation-csv"),
    path(
        "settings/reconciliation/<int:run_id>/book-again",
        reconciliation.reconciliation_book_again_view,
        name="reconciliation-book-again",
    ),  # fmt: skip
    path("settings/security/", security.security_page, name="security"),
    path("settings/security/eduframe-credentials", security.eduframe_credentials, name="eduframe-credentials"),
    path("settings/security/webhook-secret", security.webhook_secret, name="webhook-secret"),
    path("settings/security/sign-out-everywhere", security.sign_out_everywhere, name="sign-out-everywhere"),
    path("settings/sign-out", security.sign_out, name="sign-out"),
    path("settings/audit/", security.audit_log, name="audit-log"),
]
