from django.apps import AppConfig


class PluginConfig(AppConfig):
    name = "plugin"
    verbose_name = "Installations and settings"

    def ready(self) -> None:
        from plugin import checks  # noqa: F401  (registers the system checks)
