"""Monitoring pages and endpoints: thin views over alerts.py, notify.py and metrics.py."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.access import membership_for
from accounts.audit import record_audit
from accounts.models import Membership
from clusters.models import Cluster
from monitoring import alerts, history, metrics, notify
from monitoring.alertmanager import InvalidPayload, apply_alertmanager_alerts, parse_payload
from monitoring.forms import NotificationChannelForm
from monitoring.models import Alert, ClusterAlertReceiver, Delivery, NotificationChannel, Silence

ALERTS_PER_PAGE = 50
SILENCE_CHOICES = [(value, label) for value, label, _ in alerts.SILENCE_DURATIONS]
# The cluster page lists at most this many firing alerts (the alerts page has them all).
CLUSTER_ALERTS_SHOWN = 20
DELIVERIES_SHOWN = 50


def _current_membership_or_404(request: HttpRequest):  # noqa: ANN202
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404("No organization.")
    return membership


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    """The current organization's alerts: firing first, then resolved, newest first."""
    membership = _current_membership_or_404(request)
    found = Alert.objects.filter(organization=membership.organization)
    cluster_id = request.GET.get("cluster", "").strip()
    status = request.GET.get("status", "").strip()
    severity = request.GET.get("severity", "").strip()
    if cluster_id:
        found = found.filter(cluster_id=cluster_id)
    if status in Alert.Status.values:
        found = found.filter(status=status)
    if severity in Alert.Severity.values:
        found = found.filter(severity=severity)
    # "firing" sorts before "resolved": firing first, then newest first.
    found = found.select_related("cluster", "acknowledged_by").order_by(
        "status", "-starts_at", "-id"
    )
    page = Paginator(found, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    silences = list(
        Silence.objects.active()
        .filter(organization=membership.organization)
        .select_related("cluster", "created_by")
    )
    alerts.mark_silenced(page, silences)
    return render(
        request,
        "monitoring/alerts.html",
        {
            "page": page,
            "membership": membership,
            "filters": {"cluster": cluster_id, "status": status, "severity": severity},
            "statuses": Alert.Status.choices,
            "severities": Alert.Severity.choices,
            "silence_durations": SILENCE_CHOICES,
            "silences": silences,
        },
    )


def _alert_for_change(request: HttpRequest, alert_id: int) -> tuple[Alert, Membership]:
    """The alert if the user's org owns it (else 404) and their role may change it (else 403),
    with the user's membership."""
    alert = get_object_or_404(
        Alert.objects.visible_to(request.user).select_related("cluster"), pk=alert_id
    )
    membership = membership_for(request.user, alert.organization)
    if membership is None or not membership.can_change:
        raise PermissionDenied("Viewers can see alerts but not acknowledge or silence them.")
    return alert, membership


def _alert_row(request: HttpRequest, alert: Alert, membership: Membership) -> HttpResponse:
    """The alert's row as both alert tables show it: what an htmx action swaps in."""
    silences = list(Silence.objects.active().filter(organization_id=alert.organization_id))
    alert.silenced_until = alerts.silenced_until(alert, silences)
    return render(request, "monitoring/alerts.html#alert_row",
                  {"alert": alert, "membership": membership,
                   "silence_durations": SILENCE_CHOICES})


@require_POST
@login_required
def acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert, membership = _alert_for_change(request, alert_id)
    acknowledged = alerts.acknowledge_alert(alert, request.user)
    if acknowledged:
        record_audit("alert.acknowledged", organization=alert.organization, request=request,
                     target=alert, fingerprint=alert.fingerprint, cluster=alert.cluster_id)
    if request.htmx:  # the swapped row says what happened (acknowledged by whom, or resolved)
        alert.refresh_from_db()
        return _alert_row(request, alert, membership)
    if acknowledged:
        messages.success(request, f"Acknowledged: {alert.summary}")
    else:
        messages.warning(request, "That alert was already acknowledged or has resolved.")
    return redirect(_back_to_alerts(request))


@require_POST
@login_required
def silence(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert, membership = _alert_for_change(request, alert_id)
    durations = {value: delta for value, _, delta in alerts.SILENCE_DURATIONS}
    duration = durations.get(request.POST.get("duration", ""))
    if duration is None:
        choices = ", ".join(durations)
        messages.error(request, f"Choose how long to silence the alert: one of {choices}.")
        return redirect(_back_to_alerts(request))
    label_names = [name for name in request.POST.getlist("labels") if name]
    created = alerts.silence_alert(
        alert, request.user, duration=duration, comment=request.POST.get("comment", ""),
        label_names=label_names,
    )
    record_audit("alert.silenced", organization=alert.organization, request=request,
                 target=created, matchers=created.matchers, until=created.ends_at.isoformat())
    if request.htmx:
        return _alert_row(request, alert, membership)
    until = f"{created.ends_at:%Y-%m-%d %H:%M} UTC"
    messages.success(request, f"Silenced alerts matching {created.matchers} until {until}.")
    return redirect(_back_to_alerts(request))


@require_POST
@login_required
def expire_silence(request: HttpRequest, silence_id: int) -> HttpResponse:
    found = get_object_or_404(
        Silence.objects.filter(organization__memberships__user=request.user), pk=silence_id
    )
    membership = membership_for(request.user, found.organization)
    if membership is None or not membership.can_change:
        raise PermissionDenied("Viewers cannot change silences.")
    now = timezone.now()
    Silence.objects.filter(pk=found.pk, ends_at__gt=now).update(ends_at=now)
    record_audit("silence.expired", organization=found.organization, request=request,
                 target=found)
    messages.success(request, "Silence expired.")
    return redirect(_back_to_alerts(request))


@login_required
@require_GET
def cluster_history(request: HttpRequest, cluster_id: str) -> HttpResponse:
    """The cluster page's monitoring card: the chart of node counts and alerts over time, and
    the firing alerts with their actions. Loaded and refreshed by htmx from the cluster page."""
    cluster = get_object_or_404(
        Cluster.objects.visible_to(request.user).select_related("organization"), pk=cluster_id
    )
    membership = membership_for(request.user, cluster.organization)
    if membership is None:
        raise Http404("No such cluster.")
    firing = list(
        cluster.alerts.firing().select_related("cluster", "acknowledged_by")
        .order_by("severity", "-starts_at", "-id")[:CLUSTER_ALERTS_SHOWN]
    )
    silences = Silence.objects.active().filter(organization=cluster.organization_id)
    alerts.mark_silenced(firing, silences)
    return render(
        request,
        "monitoring/history.html",
        {
            "cluster": cluster,
            "membership": membership,
            "chart": history.build_chart(cluster, request.GET.get("period", "")),
            "periods": [(value, label) for value, (label, _) in history.PERIODS.items()],
            "firing_alerts": firing,
            "silence_durations": SILENCE_CHOICES,
        },
    )


def _back_to_alerts(request: HttpRequest) -> str:
    return reverse("monitoring:alerts")


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _json_error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_POST
def alertmanager_webhook(request: HttpRequest, cluster_id: str) -> JsonResponse:
    """Alertmanager's webhook (JSON version 4), authenticated by the cluster's bearer token."""
    cluster = Cluster.objects.live().filter(pk=cluster_id).select_related("alert_receiver").first()
    if cluster is None:
        return _json_error("No such cluster.", 404)
    receiver = getattr(cluster, "alert_receiver", None)
    token = _bearer_token(request)
    if receiver is None or not token or not receiver.accepts(token):
        return _json_error("Missing or wrong bearer token for this cluster's receiver.", 401)
    try:
        notifications = parse_payload(request.body)
    except InvalidPayload as error:
        return _json_error(str(error), 400)
    outcome = apply_alertmanager_alerts(cluster, notifications)
    ClusterAlertReceiver.objects.filter(pk=receiver.pk).update(last_received_at=timezone.now())
    return JsonResponse(outcome)


@require_POST
@login_required
def rotate_receiver_token(request: HttpRequest, cluster_id: str) -> HttpResponse:
    """Make (or replace) the cluster's Alertmanager token and show it once."""
    cluster = get_object_or_404(Cluster.objects.visible_to(request.user).live(), pk=cluster_id)
    membership = membership_for(request.user, cluster.organization)
    if membership is None or not membership.can_change:
        raise PermissionDenied("Viewers cannot manage the alert receiver.")
    token = ClusterAlertReceiver.rotate(cluster)
    record_audit("alert_receiver.rotated", organization=cluster.organization, request=request,
                 target=cluster)
    url = request.build_absolute_uri(reverse("monitoring:alertmanager", args=[cluster.id]))
    return render(request, "monitoring/receiver_token.html",
                  {"cluster": cluster, "token": token, "url": url})


def _channels_context(membership, form=None) -> dict:  # noqa: ANN001
    organization = membership.organization
    return {
        "membership": membership,
        "channels": NotificationChannel.objects.filter(organization=organization),
        "deliveries": Delivery.objects.filter(channel__organization=organization)
        .select_related("channel", "alert")[:DELIVERIES_SHOWN],
        "form": form or NotificationChannelForm(),
    }


@login_required
def notification_channels(request: HttpRequest) -> HttpResponse:
    """The organization's channels and delivery log; admins add channels here."""
    membership = _current_membership_or_404(request)
    if request.method == "POST":
        if not membership.is_admin:
            raise PermissionDenied("Only organization admins manage notification channels.")
        form = NotificationChannelForm(request.POST)
        if not form.is_valid():
            return render(request, "monitoring/notifications.html",
                          _channels_context(membership, form), status=400)
        channel = form.save(commit=False)
        channel.organization = membership.organization
        channel.save()
        record_audit("notification_channel.created", organization=membership.organization,
                     request=request, target=channel, kind=channel.kind)
        messages.success(request, f"Channel {channel.name} added.")
        return redirect("monitoring:notifications")
    return render(request, "monitoring/notifications.html", _channels_context(membership))


def _channel_for_admin(request: HttpRequest, channel_id: int) -> NotificationChannel:
    channel = get_object_or_404(
        NotificationChannel.objects.filter(organization__memberships__user=request.user),
        pk=channel_id,
    )
    membership = membership_for(request.user, channel.organization)
    if membership is None or not membership.is_admin:
        raise PermissionDenied("Only organization admins manage notification channels.")
    return channel


@require_POST
@login_required
def send_test_notification(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_for_admin(request, channel_id)
    notify.send_test(channel)
    messages.success(request, f"Test notification queued for {channel.name}; see the log below.")
    return redirect("monitoring:notifications")


@login_required
def edit_notification_channel(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Admins change a channel's destination, secret or filters; the form keeps input on errors."""
    channel = _channel_for_admin(request, channel_id)
    form = NotificationChannelForm(request.POST or None, instance=channel)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            record_audit("notification_channel.changed", organization=channel.organization,
                         request=request, target=channel, fields=sorted(form.changed_data))
            messages.success(request, f"Channel {channel.name} saved.")
            return redirect("monitoring:notifications")
        return render(request, "monitoring/notification_edit.html",
                      {"form": form, "channel": channel}, status=400)
    return render(request, "monitoring/notification_edit.html", {"form": form, "channel": channel})


@require_POST
@login_required
def delete_notification_channel(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_for_admin(request, channel_id)
    record_audit("notification_channel.deleted", organization=channel.organization,
                 request=request, target=channel)
    channel.delete()
    messages.success(request, f"Channel {channel.name} deleted.")
    return redirect("monitoring:notifications")


METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _may_read_metrics(request: HttpRequest) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = _bearer_token(request)
    expected = settings.METRICS_TOKEN
    return bool(expected and token) and hmac.compare_digest(token, expected)


def metrics_endpoint(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape target: a bearer METRICS_TOKEN or an ops staff session."""
    if not _may_read_metrics(request):
        response = HttpResponse("Authentication required.\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.render_metrics(), content_type=METRICS_CONTENT_TYPE)
