from django.urls import path
from django.views.generic import RedirectView

from plugin.views import account_choice, courses, exact, install, log, settings

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="settings", permanent=False)),
    path("install/", install.install, name="install"),
    path("install/callback", install.install_callback, name="install-callback"),
    path("exact/callback", exact.callback, name="exact-callback"),
    path("settings/", settings.settings_page, name="settings"),
    path("settings/progress", settings.backfill_progress_json, name="backfill-progress"),
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
]
