from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Invoice sync"

    def ready(self) -> None:
        # Connect the signals that enqueue invoices when settings change.
        from sync import (
            signals,  # noqa: F401
            worker_signals,  # noqa: F401
        )
