"""Serve a sandbox WSGI application on a loopback port in a background thread."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server


class SandboxServer:
    """One simulator on 127.0.0.1; port 0 picks a free ephemeral port (tests)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, ssl_context=None):
        self.app = app
        # An ssl.SSLContext serves HTTPS (clients that refuse plain http, e.g. the exactonline library).
        self._server = make_server(host, port, app, threaded=True, ssl_context=ssl_context)
        self.host = host
        self.port = self._server.server_port
        self.scheme = "https" if ssl_context is not None else "http"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        # A short poll interval makes stop() quick: tests start and stop many servers.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
