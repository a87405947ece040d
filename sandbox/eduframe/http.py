"""HTTP helpers shared by the API, OAuth and control views: JSON bodies, errors, filters, cursor pagination."""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from sandbox.eduframe.errors import SimulatorError

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
PAGING_PARAMS = {"cursor", "per_page", "page", "include", "sort"}


class ApiError(SimulatorError):
    """An error answered directly with a given status."""

    def __init__(self, status: int, message: str, errors: dict | None = None, headers: dict | None = None):
        super().__init__(message, errors)
        self.status = status
        self.headers = headers or {}


def json_response(data, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers, content_type="application/json")


def error_response(status: int, message: str, errors: dict | None = None, headers: dict | None = None) -> Response:
    """Eduframe's error body: {"code": <status>, "message": "...", "errors": {...}}."""
    return json_response({"code": status, "message": message, "errors": errors or {}}, status, headers)


def json_body(request: Request) -> dict:
    """Parse a JSON object body; an empty body is an empty object."""
    if not request.get_data():
        return {}
    try:
        body = json.loads(request.get_data(as_text=True))
    except ValueError:
        raise ApiError(400, "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return body


def list_param(request: Request, name: str) -> list[str]:
    """Array filters in all three styles: a=x&a=y, a[]=x&a[]=y and a=x,y."""
    raw = request.args.getlist(name) + request.args.getlist(f"{name}[]")
    return [part for value in raw for part in value.split(",") if part]


def int_list_param(request: Request, name: str) -> list[int]:
    values = list_param(request, name)
    try:
        return [int(value) for value in values]
    except ValueError:
        raise ApiError(400, f"Invalid value for {name}", {name: ["must be an integer"]}) from None


def check_params(request: Request, allowed: set[str], strict: bool) -> None:
    """With `strict`, refuse unknown query parameters (the real API may just ignore them)."""
    if not strict:
        return
    names = {name.removesuffix("[]") for name in request.args}
    unknown = sorted(names - allowed - PAGING_PARAMS)
    if unknown:
        raise ApiError(400, "Unknown parameter", {name: ["is not a permitted filter"] for name in unknown})


def encode_cursor(last_id) -> str:
    raw = json.dumps({"id": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))["id"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ApiError(400, "Invalid cursor", {"cursor": ["is invalid"]}) from None


def per_page(request: Request, over_max: str) -> int:
    raw = request.args.get("per_page", str(DEFAULT_PER_PAGE))
    try:
        size = int(raw)
    except ValueError:
        raise ApiError(400, "Invalid per_page", {"per_page": ["must be an integer"]}) from None
    if size < 1:
        raise ApiError(400, "Invalid per_page", {"per_page": ["must be greater than or equal to 1"]})
    if size > MAX_PER_PAGE and over_max == "reject":
        raise ApiError(400, "Invalid per_page", {"per_page": [f"must be less than or equal to {MAX_PER_PAGE}"]})
    return min(size, MAX_PER_PAGE)


def by_id(row: dict):
    return row["id"]


def paginate(request: Request, rows: list[dict], over_max: str = "clamp", key=by_id) -> Response:
    """Return one page (rows sorted by `key`) as a bare array, with an absolute Link rel="next" if more.

    The cursor is the opaque position (`key`) of the last row served; the deprecated `page` parameter
    is still honoured when no cursor is given.
    """
    size = per_page(request, over_max)
    if "cursor" in request.args:
        after = decode_cursor(request.args["cursor"])
        try:
            rows = [row for row in rows if key(row) > after]
        except TypeError:
            raise ApiError(400, "Invalid cursor", {"cursor": ["is invalid"]}) from None
    elif "page" in request.args:
        page = max(1, int(request.args.get("page") or 1))
        rows = rows[(page - 1) * size :]
    page_rows, more = rows[:size], len(rows) > size
    headers = {}
    if more:
        headers["Link"] = next_link(request, key(page_rows[-1]), size)
    return json_response(page_rows, headers=headers)


def next_link(request: Request, last_id, size: int) -> str:
    args = [(key, value) for key, value in request.args.items(multi=True) if key not in ("cursor", "page", "per_page")]
    args += [("cursor", encode_cursor(last_id)), ("per_page", str(size))]
    return f'<{request.host_url.rstrip("/")}{request.path}?{urlencode(args)}>; rel="next"'
