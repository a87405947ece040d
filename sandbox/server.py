"""Serve a sandbox WSGI application on a loopback port in a background thread.

Exact Online and Eduframe keep HTTP/1.1 connections alive, so the simulators do too: a client that pools its
connections sends a booking's requests over one connection instead of a TCP connect per request (what the
service's CPU per booking should be measured against). Werkzeug's development handler closes every
connection (it cannot find where an unread request body ends), so the handler here reads each request body
to its Content-Length, answers with a Content-Length, and keeps the connection; a request it cannot delimit
that way (a chunked body, `Expect: 100-continue`) is served by Werkzeug's own handler and closed, as before.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import WSGIRequestHandler, connection_dropped_errors, make_server
from werkzeug.wsgi import LimitedStream

# Answers that carry no body, so no Content-Length is added to them.
_BODYLESS = frozenset({204, 304})


class KeepAliveHandler(WSGIRequestHandler):
    """Werkzeug's handler, but a connection stays open between requests (HTTP/1.1), as at the real services."""

    # Headers and body go out in two writes: without this, Nagle's algorithm and the client's delayed ACK would
    # hold every answer on a kept connection for ~40 ms.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.server.open_connections.add(self.connection)  # type: ignore[attr-defined]
        self.server.connections_accepted += 1  # type: ignore[attr-defined]

    def finish(self) -> None:
        self.server.open_connections.discard(self.connection)  # type: ignore[attr-defined]
        super().finish()

    def run_wsgi(self) -> None:
        if "Transfer-Encoding" in self.headers or self.headers.get("Expect"):
            self.close_connection = True
            super().run_wsgi()
            return
        environ = self.environ = self.make_environ()
        body = LimitedStream(self.rfile, int(self.headers.get("Content-Length") or 0))
        environ["wsgi.input"] = body
        try:
            status, headers, chunks = self._call_app(environ)
            body.exhaust()  # what the application left unread, so the next request line starts where it should
        except connection_dropped_errors as error:  # a fault that drops the connection (sandbox/exact/faults.py)
            self.close_connection = True
            self.connection_dropped(error, environ)
            return
        self._send(status, headers, chunks, head=environ["REQUEST_METHOD"] == "HEAD")

    def _call_app(self, environ: dict) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        """Run the application and collect its whole answer (the simulators' answers are small)."""
        try:
            return _collect(self.server.app, environ)  # type: ignore[attr-defined]
        except connection_dropped_errors:
            raise
        except Exception as error:
            if self.server.passthrough_errors:  # type: ignore[attr-defined]
                raise
            self.log_error("Error on request %s %s: %r", self.command, self.path, error)
            return _collect(InternalServerError(), environ)

    def _send(self, status: str, headers: list[tuple[str, str]], chunks: list[bytes], *, head: bool) -> None:
        code, _, message = status.partition(" ")
        content = b"".join(chunks)
        self.send_response(int(code), message)
        names = set()
        for name, value in headers:
            self.send_header(name, value)  # a "Connection: close" from the application closes it after this
            names.add(name.lower())
        if "content-length" not in names and int(code) not in _BODYLESS and int(code) >= 200:
            self.send_header("Content-Length", str(len(content)))
        if self.close_connection and "connection" not in names:  # the request asked to close (or spoke HTTP/1.0)
            self.send_header("Connection", "close")
        self.end_headers()
        if content and not head:
            self.wfile.write(content)
        self.wfile.flush()


def _collect(app, environ: dict) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """Call a WSGI application; its status, headers and body chunks."""
    answer: dict = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
        answer["status"], answer["headers"] = status, headers
        return lambda data: chunks.append(data)

    chunks: list[bytes] = []
    result: Iterable[bytes] = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return answer["status"], answer["headers"], chunks


class SandboxServer:
    """One simulator on 127.0.0.1; port 0 picks a free ephemeral port (tests)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, ssl_context=None):
        self.app = app
        # An ssl.SSLContext serves HTTPS (clients that refuse plain http, e.g. the exactonline library).
        self._server = make_server(
            host, port, app, threaded=True, request_handler=KeepAliveHandler, ssl_context=ssl_context
        )
        # The connections being served, kept open between requests: stop() closes them.
        self._server.open_connections = self.open_connections = set()  # type: ignore[attr-defined]
        self._server.connections_accepted = 0  # type: ignore[attr-defined]
        self.host = host
        self.port = self._server.server_port
        self.scheme = "https" if ssl_context is not None else "http"
        self._thread: threading.Thread | None = None

    @property
    def connections_accepted(self) -> int:
        """How many TCP connections the server accepted (a pooling client makes one per thread, not per request)."""
        return self._server.connections_accepted  # type: ignore[attr-defined]

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
        # A kept connection's thread waits for its next request: closing the socket ends it (and tells the client).
        for sock in list(self.open_connections):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread:
            self._thread.join(timeout=5)
