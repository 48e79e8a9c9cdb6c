"""Monitoring pages and endpoints: thin views over alerts.py, notify.py and metrics.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from monitoring.models import Alert

ALERTS_PER_PAGE = 50


def _current_membership_or_404(request: HttpRequest):  # noqa: ANN202
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404("No organization.")
    return membership


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    """The current organization's alerts: firing first, then resolved, newest first."""
    membership = _current_membership_or_404(request)
    alerts = Alert.objects.filter(organization=membership.organization)
    cluster_id = request.GET.get("cluster", "").strip()
    status = request.GET.get("status", "").strip()
    severity = request.GET.get("severity", "").strip()
    if cluster_id:
        alerts = alerts.filter(cluster_id=cluster_id)
    if status in Alert.Status.values:
        alerts = alerts.filter(status=status)
    if severity in Alert.Severity.values:
        alerts = alerts.filter(severity=severity)
    # "firing" sorts before "resolved": firing first, then newest first.
    alerts = alerts.select_related("cluster", "acknowledged_by").order_by(
        "status", "-starts_at", "-id"
    )
    page = Paginator(alerts, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "monitoring/alerts.html",
        {
            "page": page,
            "membership": membership,
            "filters": {"cluster": cluster_id, "status": status, "severity": severity},
            "statuses": Alert.Status.choices,
            "severities": Alert.Severity.choices,
        },
    )
