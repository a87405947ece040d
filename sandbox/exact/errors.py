"""Exact's error envelope and the exceptions the handlers raise to produce it."""

from __future__ import annotations

import json

from werkzeug.wrappers import Response

# Every sample seen has empty `code` and `lang` [C S11, K S6].
ERROR_SEPARATOR = "\r\n"


def error_body(message: str) -> dict:
    return {"error": {"code": "", "message": {"lang": "", "value": message}}}


class ApiError(Exception):
    """A response with Exact's error envelope (or a custom body) and a fixed status."""

    def __init__(self, status: int, message: str, headers: dict | None = None, body: dict | str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.body = body

    def to_response(self) -> Response:
        if self.body == "":
            return Response(b"", status=self.status, headers=self.headers)
        body = self.body if self.body is not None else error_body(self.message)
        return Response(json.dumps(body), status=self.status, headers=self.headers, mimetype="application/json")


class BadRequest(ApiError):
    """OData / format problems: always 400 [R S15]."""

    def __init__(self, message: str):
        super().__init__(400, message)


class NotFound(ApiError):
    def __init__(self, message: str = "Not found"):
        super().__init__(404, message)


class BusinessError(ApiError):
    """Business-rule failure. Exact answers these with 500 [R S15]; the app rewrites the status from
    `state.business_error_status` so tests can switch to 400."""

    def __init__(self, messages: list[str] | str):
        if isinstance(messages, str):
            messages = [messages]
        super().__init__(500, ERROR_SEPARATOR.join(messages))
        self.messages = messages


class Messages:
    """Collects several validation messages; Exact reports them together, joined with CRLF [C S11]."""

    def __init__(self):
        self.items: list[str] = []

    def add(self, message: str) -> None:
        if message not in self.items:
            self.items.append(message)

    def add_optional(self, message: str | None) -> None:
        if message:
            self.add(message)

    def raise_if_any(self) -> None:
        if self.items:
            raise BusinessError(self.items)


def stream_error(detail: str) -> BadRequest:
    return BadRequest(f"Error processing request stream. {detail}")
