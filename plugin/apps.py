from django.apps import AppConfig


class PluginConfig(AppConfig):
    name = "plugin"
    verbose_name = "Installations and settings"
