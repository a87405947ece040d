from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from eduexact_site.health import healthz
from monitoring.views import metrics

urlpatterns = [
    path(settings.DJANGO_ADMIN_URL, admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("", include("sync.urls")),
    path("", include("plugin.urls")),
]
