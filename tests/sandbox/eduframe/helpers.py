"""Helpers shared by the simulator tests."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sandbox.eduframe.clock import DEFAULT_TZ

START = datetime(2026, 6, 1, 9, 0, tzinfo=DEFAULT_TZ)


def course_line(world, units=1, unit_price="595.00", vat=None):
    return {
        "name": world.variant["name"],
        "units": units,
        "unit_price": unit_price,
        "invoice_vat_id": (vat or world.high)["id"],
        "catalog_variant_id": world.variant["id"],
    }


class Receiver:
    """A local HTTP server that records webhook POSTs and answers with scripted status codes."""

    def __init__(self):
        self.received: list[dict] = []
        self.statuses: list[int] = []  # consumed one per request; 200 when empty
        self.event = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append({"body": json.loads(body), "content_type": self.headers["Content-Type"]})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")
                receiver.event.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/secret"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def bodies(self) -> list[dict]:
        return [entry["body"] for entry in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
