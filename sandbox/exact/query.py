"""Query options on collection GETs: $filter, $select, $expand, $top, $orderby, paging by $skiptoken."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from .errors import BadRequest
from .odata_filter import Filter, parse_filter
from .schema import GUID, EntitySpec

PAGE_SIZE = 60  # CRUD endpoints [C S1, S3]
_KNOWN = {"$filter", "$select", "$expand", "$top", "$orderby", "$skiptoken", "$inlinecount", "$format"}


@dataclass
class Query:
    filter: Filter | None
    filter_text: str | None
    select: list[str] | None
    select_text: str | None
    expand: list[str]
    top: int | None
    orderby: tuple[str, bool] | None
    skiptoken: str | None


def parse_query(args, spec: EntitySpec, case_insensitive: bool = True) -> Query:
    if "$skip" in args:
        # Not supported on endpoints released after 1 March 2017 [C S4].
        raise BadRequest("The query parameter '$skip' is not supported for this resource. Use $skiptoken.")
    filter_text = args.get("$filter")
    if filter_text is not None and not filter_text.strip():
        raise BadRequest("This $filter parameter is not supported for this resource")  # picqer PR #468 [R]
    parsed = parse_filter(filter_text, spec, case_insensitive) if filter_text else None
    expand = [name.strip() for name in args.get("$expand", "").split(",") if name.strip()]
    for name in expand:
        if name not in spec.navigations:
            raise BadRequest(f"Could not find a property named '{name}' on type '{spec.type_name}'.")
    select_text = args.get("$select")
    return Query(
        filter=parsed,
        filter_text=filter_text,
        select=parse_select(select_text, spec),
        select_text=select_text,
        expand=expand,
        top=_parse_top(args.get("$top")),
        orderby=_parse_orderby(args.get("$orderby"), spec),
        skiptoken=_parse_skiptoken(args.get("$skiptoken")),
    )


def parse_select(text: str | None, spec: EntitySpec) -> list[str] | None:
    if not text or text.strip() == "*":
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        root = name.split("/")[0]
        if root not in spec.fields and root not in spec.navigations:
            raise BadRequest(f"Could not find a property named '{root}' on type '{spec.type_name}'.")
    return [name.split("/")[0] for name in names]


def _parse_top(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise BadRequest(f"Invalid integer value '{text}' for $top.")
    return int(text)


def _parse_orderby(text: str | None, spec: EntitySpec) -> tuple[str, bool] | None:
    if not text:
        return None
    parts = text.split()
    if parts[0] not in spec.fields or len(parts) > 2 or parts[-1] not in (parts[0], "asc", "desc"):
        raise BadRequest(f"Could not find a property named '{parts[0]}' on type '{spec.type_name}'.")
    return parts[0], parts[-1] == "desc"


def _parse_skiptoken(text: str | None) -> str | None:
    if text is None:
        return None
    if text.startswith("guid'") and text.endswith("'"):
        return text[5:-1].lower()
    return text


def select_rows(rows: list[dict], spec: EntitySpec, query: Query) -> tuple[list[dict], bool]:
    """Filter, order, then cut one page. Rows are ordered by key so `$skiptoken` = last key works."""
    matched = [row for row in rows if query.filter is None or query.filter.matches(row)]
    matched.sort(key=lambda row: str(row.get(spec.key)))
    if query.orderby:
        name, desc = query.orderby
        matched.sort(key=lambda row: (row.get(name) is not None, row.get(name) or 0), reverse=desc)
    if query.skiptoken is not None:
        keys = [str(row.get(spec.key)) for row in matched]
        start = keys.index(query.skiptoken) + 1 if query.skiptoken in keys else len(keys)
        matched = matched[start:]
    limit = PAGE_SIZE if query.top is None else min(query.top, PAGE_SIZE)
    more = len(matched) > limit and (query.top is None or query.top > limit)
    return matched[:limit], more


def next_link(base_path_url: str, spec: EntitySpec, query: Query, last_key) -> str:
    """`__next` keeps the caller's $select/$filter/$expand and adds `$skiptoken=guid'<last key>'` [C S4]."""
    params = []
    for name, value in (("$filter", query.filter_text), ("$select", query.select_text)):
        if value:
            params.append(f"{name}={quote(value, safe='')}")
    if query.expand:
        params.append(f"$expand={','.join(query.expand)}")
    if query.top is not None:
        params.append(f"$top={query.top - PAGE_SIZE}")
    token = f"guid'{last_key}'" if spec.key_type == GUID else str(last_key)
    params.append(f"$skiptoken={quote(token, safe='')}")
    return f"{base_path_url}?{'&'.join(params)}"
