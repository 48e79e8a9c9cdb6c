"""One function to write the audit log, from views, admin actions and commands alike."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import AuditLogEntry, Organization, User


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR") or None


def record_audit(
    action: str,
    *,
    organization: Organization | None,
    actor: User | None = None,
    request: HttpRequest | None = None,
    target: object = "",
    **details: Any,
) -> AuditLogEntry:
    """Write one audit entry: `action` is a dotted verb such as `membership.role_changed`."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return AuditLogEntry.objects.create(
        organization=organization,
        actor=actor,
        actor_label=str(actor) if actor else "system",
        action=action,
        target=str(target)[:200],
        details=details,
        ip_address=client_ip(request),
    )
