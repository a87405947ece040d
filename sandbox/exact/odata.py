"""OData v2 verbose-JSON conventions: dates, GUIDs, type coercion of bodies, entity serialisation."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .errors import BadRequest, stream_error
from .schema import BINARY, BOOL, DATE, FLOAT, GUID, INT, INT64, READ, STR, EntitySpec

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
EPOCH = datetime(1970, 1, 1)
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EDM_NAMES = {GUID: "Guid", STR: "String", INT: "Int32", INT64: "Int64", FLOAT: "Double"}
_EDM_NAMES |= {DATE: "DateTime", BOOL: "Boolean", BINARY: "Binary"}


def new_guid() -> str:
    return str(uuid.uuid4())  # lowercase, as Exact sends them [C S5]


def local_naive(moment: datetime) -> datetime:
    """Stored datetimes are Amsterdam wall-clock without tzinfo, because that is what Exact serialises."""
    return moment.astimezone(AMSTERDAM).replace(tzinfo=None)


def to_odata_date(value: datetime | None) -> str | None:
    """`/Date(ms)/` with Amsterdam wall-clock encoded as if UTC: observed in S10 (16:21 local vs 14:21 GMT)."""
    if value is None:
        return None
    millis = int((value - EPOCH) / timedelta(milliseconds=1))
    return f"/Date({millis})/"


def parse_date_input(text: str, offset_mode: str = "shift") -> datetime:
    """`YYYY-MM-DD` or an ISO datetime. A `Z`/offset suffix is, per a plugin author's report [R S19],
    "accepted and then shifted": in mode "shift" the wall-clock is read as Amsterdam local time and the
    UTC value kept, so `2025-03-01T00:00:00Z` lands on 28 Feb 23:00. Mode "drop" ignores the suffix."""
    if text.startswith("/Date("):
        return EPOCH + timedelta(milliseconds=int(re.sub(r"[^0-9-]", "", text)))
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None or offset_mode == "drop":
        return parsed.replace(tzinfo=None)
    wall = parsed.replace(tzinfo=None)
    return (wall.replace(tzinfo=AMSTERDAM).astimezone(UTC)).replace(tzinfo=None)


def conversion_error(prop: str, typ: str) -> BadRequest:
    # Wording from picqer #595 [R S15].
    return stream_error(
        f"Error encountered in converting the value from request payload for property '{prop}' to type "
        f"'{_EDM_NAMES[typ]}', which is the property's expected type. See inner exception for more detail."
    )


def coerce(prop: str, typ: str, value, offset_mode: str = "shift"):
    """Body value -> stored value. Numbers may arrive as strings (ossobv sends "121.00") [K S7]."""
    if value is None:
        return None
    try:
        return _COERCERS[typ](value, offset_mode)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise conversion_error(prop, typ) from exc


def _guid(value, _mode) -> str:
    if not isinstance(value, str) or not GUID_RE.match(value):
        raise ValueError(value)
    return value.lower()


def _int(value, _mode) -> int:
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    return int(str(value).strip()) if isinstance(value, str) else int(value)


def _float(value, _mode) -> float:
    if isinstance(value, bool):
        raise TypeError(value)
    return float(value)


def _str(value, _mode) -> str:
    if isinstance(value, dict | list):
        raise TypeError(value)
    return str(value)


def _bool(value, _mode) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError(value)


def _binary(value, _mode) -> bytes:
    return base64.b64decode(value, validate=True)


def _date(value, mode) -> datetime:
    return parse_date_input(str(value), mode)


_COERCERS = {GUID: _guid, INT: _int, INT64: _int, FLOAT: _float, STR: _str, BOOL: _bool, BINARY: _binary}
_COERCERS[DATE] = _date


def parse_body(spec: EntitySpec, body, *, offset_mode: str, updating: bool) -> tuple[dict, dict]:
    """Split a JSON body into (scalar values, navigation values). Unknown names -> 400 [R S15 #461];
    read-only names (and POST-only ones on PUT) are silently dropped [C S5, K S7]."""
    if not isinstance(body, dict):
        raise stream_error("The request should be a valid top-level resource object.")
    values, navs = {}, {}
    for name, raw in body.items():
        if name == "__metadata":
            continue
        if name in spec.navigations:
            navs[name] = raw
            continue
        if name not in spec.fields:
            raise stream_error(f"The property name '{name}' specified for type '{spec.type_name}' is not valid.")
        typ, mode = spec.fields[name]
        if mode == READ or (updating and mode != "rw"):
            continue
        values[name] = coerce(name, typ, raw, offset_mode)
        _check_length(spec, name, values[name])
    return values, navs


def _check_length(spec: EntitySpec, name: str, value) -> None:
    """Refuse a text longer than the property takes (limits and wording assumed [U], see EntitySpec)."""
    limit = spec.max_lengths.get(name)
    if limit and isinstance(value, str) and len(value) > limit:
        raise stream_error(f"The value of property '{name}' is longer than its maximum length of {limit}.")


def serialise_value(typ: str, value):
    if typ == DATE:
        return to_odata_date(value)
    if typ == INT64 and value is not None:
        return str(value)
    if typ == BINARY:
        return None  # binaries are never echoed (Attachment comes back null) [C S10]
    return value


def entity_uri(base: str, division: int | None, path: str, spec: EntitySpec, key) -> str:
    key_text = f"guid'{key}'" if spec.key_type == GUID else str(key)
    prefix = f"{base}/api/v1/{division}/" if division is not None else f"{base}/api/v1/"
    return f"{prefix}{path}({key_text})"


def serialise(row: dict, spec: EntitySpec, uri: str, select: list[str] | None = None, expanded=None) -> dict:
    """One entity with `__metadata`, deferred navigations and only the selected properties."""
    out: dict = {"__metadata": {"uri": uri, "type": spec.type_name}}
    for name, (typ, _mode) in spec.fields.items():
        if select is None or name in select:
            out[name] = serialise_value(typ, row.get(name))
    for nav in spec.navigations:
        if expanded and nav in expanded:
            out[nav] = {"results": expanded[nav]}
        elif select is None or nav in select:
            out[nav] = {"__deferred": {"uri": f"{uri}/{nav}"}}
    return out
