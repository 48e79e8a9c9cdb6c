"""Fire, resolve, acknowledge and silence alerts. One open alert per (cluster, fingerprint).

Every change that a person should see writes an Event (kind "alert") through clusters/events.py,
which pushes it to the open pages after commit, and hands the alert to notify.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from clusters.events import record_event
from clusters.models import Cluster, Event
from monitoring import notify
from monitoring.models import Alert, Silence

SEVERITY_LEVEL = {
    Alert.Severity.CRITICAL: Event.Level.ERROR,
    Alert.Severity.WARNING: Event.Level.WARNING,
    Alert.Severity.INFO: Event.Level.INFO,
}

SILENCE_DURATIONS = [
    ("1h", "1 hour", timedelta(hours=1)),
    ("4h", "4 hours", timedelta(hours=4)),
    ("24h", "1 day", timedelta(days=1)),
    ("7d", "1 week", timedelta(days=7)),
]


def fingerprint_of(labels: dict) -> str:
    """A stable fingerprint for a label set (Alertmanager sends its own; health uses names)."""
    canonical = json.dumps({str(k): str(v) for k, v in labels.items()}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def normalize_severity(value: str) -> str:
    value = (value or "").lower()
    if value in Alert.Severity.values:
        return value
    if value in {"error", "page", "high"}:
        return Alert.Severity.CRITICAL
    return Alert.Severity.WARNING


def fire_alert(
    cluster: Cluster,
    *,
    fingerprint: str,
    summary: str,
    severity: str = Alert.Severity.WARNING,
    description: str = "",
    labels: dict | None = None,
    source: str = Alert.Source.HEALTH,
    starts_at: datetime | None = None,
) -> tuple[Alert, bool]:
    """Open the alert, or update the open one with this fingerprint. Returns (alert, is_new)."""
    fields = {
        "summary": summary[:300],
        "severity": normalize_severity(severity),
        "description": description,
        "labels": labels or {},
        "source": source,
    }
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(cluster=cluster, fingerprint=fingerprint, status=Alert.Status.FIRING)
            .first()
        )
        if alert is not None:
            changed = any(getattr(alert, name) != value for name, value in fields.items())
            if changed:
                for name, value in fields.items():
                    setattr(alert, name, value)
                alert.save()
            return alert, False
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    cluster=cluster,
                    organization_id=cluster.organization_id,
                    fingerprint=fingerprint,
                    starts_at=starts_at or timezone.now(),
                    **fields,
                )
        except IntegrityError:
            # Another worker opened it between our read and insert: it is the same alert.
            alert = Alert.objects.get(
                cluster=cluster, fingerprint=fingerprint, status=Alert.Status.FIRING
            )
            return alert, False
        record_event(
            cluster,
            f"Alert firing: {alert.summary}",
            kind=Event.Kind.ALERT,
            level=SEVERITY_LEVEL[alert.severity],
            alert_id=alert.id,
            fingerprint=fingerprint,
            status=alert.status,
        )
        notify.notify_alert(alert)
    return alert, True


def resolve_alert(
    cluster: Cluster, *, fingerprint: str, ends_at: datetime | None = None
) -> Alert | None:
    """Resolve the open alert with this fingerprint; None when nothing was firing."""
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(cluster=cluster, fingerprint=fingerprint, status=Alert.Status.FIRING)
            .first()
        )
        if alert is None:
            return None
        alert.status = Alert.Status.RESOLVED
        alert.ends_at = ends_at or timezone.now()
        alert.save(update_fields=["status", "ends_at", "updated_at"])
        record_event(
            cluster,
            f"Alert resolved: {alert.summary}",
            kind=Event.Kind.ALERT,
            level=Event.Level.INFO,
            alert_id=alert.id,
            fingerprint=fingerprint,
            status=alert.status,
        )
        notify.notify_alert(alert)
    return alert


def acknowledge_alert(alert: Alert, user: User) -> bool:
    """Mark a firing alert as seen; False when it was already acknowledged or resolved."""
    now = timezone.now()
    claimed = Alert.objects.filter(
        pk=alert.pk, status=Alert.Status.FIRING, acknowledged_at__isnull=True
    ).update(acknowledged_by=user, acknowledged_at=now, updated_at=now)
    if not claimed:
        return False
    alert.refresh_from_db()
    record_event(
        alert.cluster,
        f"Alert acknowledged by {user.email}: {alert.summary}",
        kind=Event.Kind.ALERT,
        alert_id=alert.id,
        fingerprint=alert.fingerprint,
        status="acknowledged",
    )
    return True


def silence_alert(
    alert: Alert, user: User, *, duration: timedelta, comment: str = "",
    label_names: list[str] | None = None,
) -> Silence:
    """Silence the alerts of this cluster whose labels match this alert's (all, or the named)."""
    labels = alert.matching_labels()
    if label_names:
        labels = {name: labels[name] for name in label_names if name in labels}
    labels.setdefault("cluster", alert.cluster_id)
    now = timezone.now()
    return Silence.objects.create(
        organization_id=alert.organization_id,
        cluster_id=alert.cluster_id,
        matchers=labels,
        starts_at=now,
        ends_at=now + duration,
        created_by=user,
        comment=comment[:300],
    )


def silenced_until(alert: Alert, silences: list[Silence]) -> datetime | None:
    """When the last of these (active) silences matching the alert ends; None if none match.

    Takes the silences already loaded for a page, so a list of alerts costs no query per row.
    """
    return max((s.ends_at for s in silences if s.matches(alert)), default=None)


def mark_silenced(alerts: Iterable[Alert], silences: Iterable[Silence]) -> None:
    """Set `alert.silenced_until` on each alert of a page from the page's active silences."""
    silences = list(silences)
    for alert in alerts:
        alert.silenced_until = silenced_until(alert, silences)
