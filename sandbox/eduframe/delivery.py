"""Background delivery of webhook notifications: one worker thread, a schedule ordered by due time.

A single thread on purpose: like Eduframe's backlog, a slow receiver delays the deliveries behind it.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time

import httpx


class DeliveryWorker:
    """POSTs notifications (10 s timeout) and reschedules failures with exponential backoff."""

    def __init__(self, state):
        self.state = state
        self._queue: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def submit(self, notification_id: str, delay: float = 0.0) -> None:
        with self._wakeup:
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._order), notification_id))
            self._ensure_thread()
            self._wakeup.notify()

    def stop(self) -> None:
        with self._wakeup:
            self._stopped = True
            self._queue.clear()
            self._wakeup.notify()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopped = False
            self._thread = threading.Thread(target=self._run, name="eduframe-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=self.state.webhook_timeout) as client:
            while (notification_id := self._next_due()) is not None:
                self._deliver(client, notification_id)

    def _next_due(self) -> str | None:
        with self._wakeup:
            while not self._stopped:
                if self._queue and self._queue[0][0] <= time.monotonic():
                    return heapq.heappop(self._queue)[2]
                wait = self._queue[0][0] - time.monotonic() if self._queue else None
                self._wakeup.wait(timeout=wait)
            return None

    def _deliver(self, client: httpx.Client, notification_id: str) -> None:
        with self.state.lock:
            notification = self.state.notifications.get(notification_id)
            if notification is None:
                return
            url, body = notification["_url"], notification["data"]
        status_code, response = self._post(client, url, body)
        if self.state.record_attempt(notification_id, status_code, response):
            attempts = len(notification["send_attempts"])
            self.submit(notification_id, delay=self.state.webhook_backoff * 2 ** (attempts - 1))

    def _post(self, client: httpx.Client, url: str, body: dict) -> tuple[int | None, str]:
        try:
            reply = client.post(url, json=body, timeout=self.state.webhook_timeout)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return reply.status_code, reply.text[:1000]
