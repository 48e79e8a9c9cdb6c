"""Alerts of the organization's clusters: list, acknowledge, silence (monitoring/alerts.py)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from accounts.audit import record_audit
from api.access import caller_of, require_change
from api.errors import conflict
from api.present import paginate
from api.routes.organizations import PageParams
from api.schemas import ErrorOut, PageMeta
from monitoring import alerts
from monitoring.models import Alert

router = Router(tags=["alerts"])

SilenceDuration = StrEnum(
    "SilenceDuration", {value: value for value, _, _ in alerts.SILENCE_DURATIONS}
)
DURATIONS = {value: delta for value, _, delta in alerts.SILENCE_DURATIONS}
MAX_ID = 2**63 - 1
AlertId = Path(..., ge=1, le=MAX_ID, description="The alert's id.")

READ_ERRORS = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}
WRITE_ERRORS = {**READ_ERRORS, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut}


class AlertOut(Schema):
    id: int
    cluster_id: str
    fingerprint: str
    severity: str
    summary: str
    description: str
    labels: dict[str, Any]
    status: str
    source: str
    starts_at: datetime
    ends_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None


class AlertPage(PageMeta):
    items: list[AlertOut]


class AlertParams(PageParams):
    status: Alert.Status | None = Field(None, description="firing or resolved (default: both).")
    cluster: str | None = Field(None, max_length=8, description="Only this cluster's alerts.")
    severity: Alert.Severity | None = None


class SilenceIn(Schema):
    duration: SilenceDuration = Field(description="How long to mute matching alerts.")
    comment: str = Field("", max_length=300)
    labels: list[str] | None = Field(
        None, max_length=50,
        description="Match on these label names only (default: all of the alert's labels).",
    )


class SilenceOut(Schema):
    id: int
    cluster_id: str | None
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    comment: str


def alert_out(alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "cluster_id": alert.cluster_id,
        "fingerprint": alert.fingerprint,
        "severity": alert.severity,
        "summary": alert.summary,
        "description": alert.description,
        "labels": alert.labels if isinstance(alert.labels, dict) else {},
        "status": alert.status,
        "source": alert.source,
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
        "acknowledged_by": alert.acknowledged_by.email if alert.acknowledged_by else None,
        "acknowledged_at": alert.acknowledged_at,
    }


def _alert(request: HttpRequest, alert_id: int, *, write: bool = False) -> Alert:
    caller = caller_of(request)
    alert = (
        Alert.objects.filter(organization=caller.organization, pk=alert_id)
        .select_related("cluster", "acknowledged_by")
        .first()
    )
    if alert is None:
        raise Http404(f"No alert {alert_id} in your organization.")
    if write:
        require_change(caller)
    return alert


@router.get("/alerts", response={200: AlertPage, **READ_ERRORS})
def list_alerts(request: HttpRequest, params: Query[AlertParams]) -> dict:
    """The organization's alerts, newest first."""
    rows = Alert.objects.filter(organization=caller_of(request).organization).select_related(
        "acknowledged_by"
    )
    if params.status:
        rows = rows.filter(status=params.status)
    if params.cluster:
        rows = rows.filter(cluster_id=params.cluster)
    if params.severity:
        rows = rows.filter(severity=params.severity)
    return paginate(rows, params.limit, params.offset, alert_out)


@router.get("/alerts/{alert_id}", response={200: AlertOut, **READ_ERRORS})
def get_alert(request: HttpRequest, alert_id: int = AlertId) -> dict:
    return alert_out(_alert(request, alert_id))


@router.post("/alerts/{alert_id}/acknowledge", response={200: AlertOut, **WRITE_ERRORS})
def acknowledge_alert(request: HttpRequest, alert_id: int = AlertId) -> dict:
    """Mark a firing alert as seen by you; 409 if it was already acknowledged or resolved."""
    alert = _alert(request, alert_id, write=True)
    caller = caller_of(request)
    if not alerts.acknowledge_alert(alert, caller.user):
        raise conflict("That alert was already acknowledged or has resolved.")
    record_audit(
        "alert.acknowledged", organization=alert.organization, actor=caller.user,
        request=request, target=alert, fingerprint=alert.fingerprint, cluster=alert.cluster_id,
    )
    return alert_out(_alert(request, alert_id))


@router.post("/alerts/{alert_id}/silence", response={201: SilenceOut, **WRITE_ERRORS})
def silence_alert(
    request: HttpRequest, payload: SilenceIn, alert_id: int = AlertId
) -> Status:
    """Mute notifications of this cluster's alerts whose labels match this one's, for a time."""
    alert = _alert(request, alert_id, write=True)
    caller = caller_of(request)
    silence = alerts.silence_alert(
        alert, caller.user, duration=DURATIONS[payload.duration.value], comment=payload.comment,
        label_names=[name for name in payload.labels or [] if name],
    )
    record_audit(
        "alert.silenced", organization=alert.organization, actor=caller.user, request=request,
        target=silence, matchers=silence.matchers, until=silence.ends_at.isoformat(),
    )
    return Status(201, {
        "id": silence.pk,
        "cluster_id": silence.cluster_id,
        "matchers": {str(k): str(v) for k, v in silence.matchers.items()},
        "starts_at": silence.starts_at,
        "ends_at": silence.ends_at,
        "comment": silence.comment,
    })
