from django.urls import path

from sync import views

urlpatterns = [
    path("webhooks/eduframe/<int:installation_id>/<str:secret>", views.eduframe_webhook, name="eduframe-webhook"),
]
