"""The audit log: each change an administrator makes, with who and when, shown on the Audit log page.

"Who" is the sign-in that made the change (its method, number and address): an Eduframe API token or OAuth
sign-in proves the educator, not the person, so that is as precise as the plugin can honestly be.
"""

from __future__ import annotations

from plugin.models import AuditEntry, Installation

UNRECORDED_SIGN_IN = "an administrator (a sign-in from before sign-ins were recorded)"


def audit_actor(*, request) -> str:
    """Describe the signed-in browser of this request."""
    from plugin.services.admin_sessions import session_current

    current = session_current(request=request)
    if current is None:
        return UNRECORDED_SIGN_IN
    where = f" from {current.ip_address}" if current.ip_address else ""
    return f"sign-in #{current.pk} ({current.get_method_display()}{where})"


def audit_record(*, request, action: str, summary: str = "", installation: Installation | None = None) -> AuditEntry:
    """Record one change made through `request` (its installation unless another is given)."""
    return AuditEntry.objects.create(
        installation=installation or request.installation,
        actor=audit_actor(request=request)[:200],
        action=action[:64],
        summary=summary,
    )


def changes_summary(before: dict, after: dict) -> str:
    """ "Ledger code: 8000 → 8100; Cost unit: (empty) → CU1" for the fields whose value changed."""
    parts = []
    for label, old in before.items():
        new = after.get(label)
        if (old or "") != (new or ""):
            parts.append(f"{label}: {_shown(old)} → {_shown(new)}")
    return "; ".join(parts) or "nothing changed"


def _shown(value) -> str:
    return "(empty)" if value in (None, "") else str(value)


def audit_entries(*, installation: Installation, limit: int = 200) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(installation=installation)[:limit])
