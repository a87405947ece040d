from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Alerts and metrics"

    def ready(self) -> None:
        # Tally finished attempts; check for incidents when a connection is marked for reconnecting.
        from monitoring import signals  # noqa: F401
