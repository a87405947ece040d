"""Fixtures for the alerts: a local SMTP server (aiosmtpd) on an ephemeral loopback port."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """The SMTP handler: keeps every message the server accepted."""

    def __init__(self):
        self.messages: list[tuple[EmailMessage, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((message_from_bytes(envelope.content, policy=policy.default), list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_inbox(settings):
    """A real SMTP server on loopback, and Django's mail set up from an EMAIL_URL pointing at it."""
    import environ

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        for name, value in environ.Env.email_url_config(f"smtp://127.0.0.1:{controller.port}").items():
            setattr(settings, name, value)
        settings.DEFAULT_FROM_EMAIL = "EduExact alerts <alerts@eduexact.test>"
        yield inbox
    finally:
        controller.stop()
