"""Small template helpers of the administrator's pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """`{{ counts|get_item:state }}`: a dict lookup by a variable key."""
    return mapping.get(key, "") if hasattr(mapping, "get") else ""
