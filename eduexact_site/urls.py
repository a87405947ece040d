from django.contrib import admin
from django.urls import include, path

from eduexact_site.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("sync.urls")),
    path("", include("plugin.urls")),
]
