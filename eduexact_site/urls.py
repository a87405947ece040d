from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from eduexact_site.health import healthz

urlpatterns = [
    path(settings.DJANGO_ADMIN_URL, admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("sync.urls")),
    path("", include("plugin.urls")),
]
