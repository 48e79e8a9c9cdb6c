"""Alertmanager's webhook payload (version 4): validate all of it, then fire and resolve alerts.

https://prometheus.io/docs/alerting/latest/configuration/#webhook_config — a guest cluster's
Alertmanager posts groups of alerts; each carries its own status, labels, annotations, times and
(since Alertmanager 0.19) a fingerprint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.dateparse import parse_datetime

from clusters.models import Cluster
from monitoring.alerts import fingerprint_of, fire_alert, resolve_alert
from monitoring.models import Alert

SUPPORTED_VERSION = "4"
MAX_ALERTS = 1000


class InvalidPayload(ValueError):
    """The body is not an Alertmanager webhook payload we understand: a 400 with this message."""


@dataclass(frozen=True)
class ReceivedAlert:
    status: str
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None


def _string_map(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidPayload(f"{where} must be an object of strings.")
    return value


def _time(value: object, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidPayload(f"{where} must be an RFC 3339 time.")
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidPayload(f"{where} must be an RFC 3339 time, not {value!r}.")
    # Alertmanager sends 0001-01-01T00:00:00Z for "no end": treat it as absent.
    return None if parsed.year < 1970 else parsed


def parse_payload(body: bytes) -> list[ReceivedAlert]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidPayload("The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise InvalidPayload("The body must be a JSON object (Alertmanager webhook payload).")
    version = payload.get("version")
    if version != SUPPORTED_VERSION:
        raise InvalidPayload(
            f"Unsupported payload version {version!r}: this receiver accepts version "
            f"\"{SUPPORTED_VERSION}\" (Alertmanager's webhook format)."
        )
    items = payload.get("alerts")
    if not isinstance(items, list):
        raise InvalidPayload("\"alerts\" must be a list.")
    if len(items) > MAX_ALERTS:
        raise InvalidPayload(f"At most {MAX_ALERTS} alerts per request.")
    received = []
    for index, item in enumerate(items):
        where = f"alerts[{index}]"
        if not isinstance(item, dict):
            raise InvalidPayload(f"{where} must be an object.")
        status = item.get("status")
        if status not in (Alert.Status.FIRING, Alert.Status.RESOLVED):
            raise InvalidPayload(f"{where}.status must be \"firing\" or \"resolved\".")
        labels = _string_map(item.get("labels"), f"{where}.labels")
        if not labels:
            raise InvalidPayload(f"{where}.labels must name the alert (alertname at least).")
        fingerprint = item.get("fingerprint") or fingerprint_of(labels)
        if not isinstance(fingerprint, str) or len(fingerprint) > 150:
            raise InvalidPayload(f"{where}.fingerprint must be a short string.")
        received.append(
            ReceivedAlert(
                status=status,
                fingerprint=f"am:{fingerprint}",
                labels=labels,
                annotations=_string_map(item.get("annotations"), f"{where}.annotations"),
                starts_at=_time(item.get("startsAt"), f"{where}.startsAt"),
                ends_at=_time(item.get("endsAt"), f"{where}.endsAt"),
            )
        )
    return received


def apply_alertmanager_alerts(cluster: Cluster, received: list[ReceivedAlert]) -> dict:
    """Fire or resolve each alert; returns counts for the response."""
    fired = updated = resolved = 0
    with transaction.atomic():
        for item in received:
            if item.status == Alert.Status.FIRING:
                _, is_new = fire_alert(
                    cluster,
                    fingerprint=item.fingerprint,
                    summary=item.annotations.get("summary")
                    or item.labels.get("alertname", "Alert from the cluster's Alertmanager"),
                    description=item.annotations.get("description", ""),
                    severity=item.labels.get("severity", ""),
                    labels=item.labels,
                    source=Alert.Source.ALERTMANAGER,
                    starts_at=item.starts_at,
                )
                fired += is_new
                updated += not is_new
            elif resolve_alert(cluster, fingerprint=item.fingerprint, ends_at=item.ends_at):
                resolved += 1
    return {"received": len(received), "fired": fired, "updated": updated, "resolved": resolved}
