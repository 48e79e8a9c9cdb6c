"""Node counts and firing alerts over time, for the small chart on the cluster page.

Where the figures come from (both honest, neither invented between observations):
- Node counts: the health poll (health.py, every HEALTH_POLL_SECONDS) hands over what AWS said
  about the cluster's auto-scaling groups — desired capacity and nodes in service that pass their
  EC2 checks — and `record_node_counts` stores a NodeCountSample only when that pair changed.
  A sample therefore holds until the next one: the chart draws steps, not interpolated lines.
- Firing alerts: the alerts themselves (starts_at, ends_at); nothing extra is stored.

Retention: `prune_samples` (run by the same beat task after each poll) deletes samples older than
RETENTION, except each cluster's newest, which still says what the counts are now.

`build_chart` turns one period of that into plain geometry (SVG point lists, ticks, a text
summary); templates/monitoring/history.html draws it. No JavaScript, no chart library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Max, Q
from django.utils import timezone

from clusters.models import Cluster
from monitoring.models import Alert, NodeCountSample

RETENTION = timedelta(days=30)
PERIODS: dict[str, tuple[str, timedelta]] = {
    "24h": ("24 hours", timedelta(hours=24)),
    "7d": ("7 days", timedelta(days=7)),
}
DEFAULT_PERIOD = "24h"

# Geometry of the SVG, in user units (the SVG scales to its container's width).
WIDTH = 640
LEFT = 40  # room for the y labels
RIGHT = 10
NODES_TOP = 10
NODES_HEIGHT = 110
ALERTS_TOP = 150
ALERTS_HEIGHT = 50
HEIGHT = 230  # the x labels sit below the alerts panel
PLOT_WIDTH = WIDTH - LEFT - RIGHT


def record_node_counts(
    cluster: Cluster, desired: int, in_service: int, *, at: datetime | None = None
) -> NodeCountSample | None:
    """Store the counts if they differ from the cluster's latest sample; None when unchanged.

    One poll runs at a time (the poll lock in tasks.py), so read-then-insert cannot double up.
    """
    latest = (
        NodeCountSample.objects.filter(cluster=cluster)
        .order_by("-at", "-id")
        .values_list("desired", "in_service")
        .first()
    )
    if latest == (desired, in_service):
        return None
    return NodeCountSample.objects.create(
        cluster=cluster, at=at or timezone.now(), desired=desired, in_service=in_service
    )


def prune_samples(*, now: datetime | None = None, retention: timedelta = RETENTION) -> int:
    """Delete samples older than the retention, keeping each cluster's newest; returns how many."""
    cutoff = (now or timezone.now()) - retention
    newest = NodeCountSample.objects.values("cluster").annotate(newest=Max("id")).values("newest")
    deleted, _ = NodeCountSample.objects.filter(at__lt=cutoff).exclude(id__in=newest).delete()
    return deleted


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass
class Chart:
    period: str
    period_label: str
    start: datetime
    end: datetime
    has_nodes: bool = False
    has_alerts: bool = False
    desired_points: str = ""
    in_service_points: str = ""
    alert_points: str = ""
    node_max: int = 1
    alert_max: int = 1
    x_ticks: list[Tick] = field(default_factory=list)
    node_ticks: list[Tick] = field(default_factory=list)
    alert_ticks: list[Tick] = field(default_factory=list)
    # The figures behind the lines, for the visually hidden table: (time, desired, in service).
    node_rows: list[tuple[datetime, int, int]] = field(default_factory=list)
    alert_rows: list[tuple[datetime, int]] = field(default_factory=list)  # (time, firing)
    summary: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.has_nodes or self.has_alerts)

    # The template reads these as constants of the drawing.
    width = WIDTH
    height = HEIGHT
    left = LEFT
    right_edge = WIDTH - RIGHT
    nodes_top = NODES_TOP
    nodes_bottom = NODES_TOP + NODES_HEIGHT
    alerts_top = ALERTS_TOP
    alerts_bottom = ALERTS_TOP + ALERTS_HEIGHT
    label_y = ALERTS_TOP + ALERTS_HEIGHT + 18


def _x(at: datetime, start: datetime, end: datetime) -> float:
    share = (at - start) / (end - start)
    return round(LEFT + min(max(share, 0.0), 1.0) * PLOT_WIDTH, 1)


def _y(value: int, maximum: int, top: int, height: int) -> float:
    return round(top + height - value / maximum * height, 1)


def step_points(
    steps: list[tuple[datetime, int]], *, start: datetime, end: datetime, maximum: int,
    top: int, height: int,
) -> str:
    """An SVG polyline for a step function: each value holds until the next, the last until end.

    `steps` are (time, value), oldest first; a time before `start` is drawn from `start`.
    """
    if not steps:
        return ""
    points: list[tuple[float, float]] = []
    for at, value in steps:
        x, y = _x(at, start, end), _y(value, maximum, top, height)
        if points:
            points.append((x, points[-1][1]))  # hold the previous value up to this time
        points.append((x, y))
    points.append((_x(end, start, end), points[-1][1]))
    drawn = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    return " ".join(f"{x:g},{y:g}" for x, y in drawn)


def _firing_steps(
    spans: list[tuple[datetime, datetime | None]], start: datetime, end: datetime
) -> list[tuple[datetime, int]]:
    """The number of firing alerts over [start, end] as (time, count) changes, oldest first."""
    changes: list[tuple[datetime, int]] = []
    for began, ended in spans:
        changes.append((max(began, start), +1))
        if ended is not None and ended < end:
            changes.append((max(ended, start), -1))
    # At one instant, count the ends before the starts: a flap is not two alerts at once.
    changes.sort(key=lambda change: (change[0], change[1]))
    steps: list[tuple[datetime, int]] = [(start, 0)]
    count = 0
    for at, delta in changes:
        count += delta
        if steps[-1][0] == at:
            steps[-1] = (at, count)
        else:
            steps.append((at, count))
    # Keep only real changes (an end and a start at one instant leave the count as it was).
    return [step for i, step in enumerate(steps) if i == 0 or step[1] != steps[i - 1][1]]


def _time_ticks(start: datetime, end: datetime, period: str) -> list[Tick]:
    if period == "7d":
        every, fmt = timedelta(days=1), "%a %d"
        first = start.replace(hour=0, minute=0, second=0, microsecond=0) + every
    else:
        every, fmt = timedelta(hours=6), "%H:%M"
        first = start.replace(minute=0, second=0, microsecond=0)
        first += timedelta(hours=(6 - first.hour % 6) % 6 or 6) if first < start else timedelta()
    ticks, at = [], first
    while at < end:
        ticks.append(Tick(_x(at, start, end), at.strftime(fmt)))
        at += every
    return ticks


def _value_ticks(maximum: int, top: int, height: int) -> list[Tick]:
    # A middle line only where it falls on a whole number halfway: 0, 1, 3 would mislead the eye.
    values = [0, maximum // 2, maximum] if maximum > 1 and maximum % 2 == 0 else [0, maximum]
    return [Tick(_y(value, maximum, top, height), str(value)) for value in values]


def build_chart(
    cluster: Cluster, period: str = DEFAULT_PERIOD, *, now: datetime | None = None
) -> Chart:
    """The chart of one period ending now. Three queries, whatever the number of rows."""
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    label, length = PERIODS[period]
    end = (now or timezone.now()).astimezone(UTC)
    start = end - length
    chart = Chart(period=period, period_label=label, start=start, end=end)

    samples = NodeCountSample.objects.filter(cluster=cluster)
    before = samples.filter(at__lt=start).order_by("-at", "-id").first()
    within = list(samples.filter(at__gte=start, at__lte=end).order_by("at", "id"))
    node_steps = ([before] if before else []) + within
    overlapping = Alert.objects.filter(cluster=cluster, starts_at__lt=end).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=start)
    )
    spans = [
        # A resolved alert without an end time ended when it was last written.
        (began, ended or (updated if status == Alert.Status.RESOLVED else None))
        for began, ended, status, updated in overlapping.values_list(
            "starts_at", "ends_at", "status", "updated_at"
        )
    ]

    if node_steps:
        chart.has_nodes = True
        chart.node_max = max(1, *(max(s.desired, s.in_service) for s in node_steps))
        geometry = dict(start=start, end=end, maximum=chart.node_max, top=NODES_TOP,
                        height=NODES_HEIGHT)
        chart.desired_points = step_points([(s.at, s.desired) for s in node_steps], **geometry)
        chart.in_service_points = step_points(
            [(s.at, s.in_service) for s in node_steps], **geometry
        )
        chart.node_rows = [(max(s.at, start), s.desired, s.in_service) for s in node_steps]
        chart.node_ticks = _value_ticks(chart.node_max, NODES_TOP, NODES_HEIGHT)
    firing = _firing_steps(spans, start, end)
    chart.has_alerts = bool(spans)
    chart.alert_max = max(1, *(count for _, count in firing))
    chart.alert_points = step_points(
        firing, start=start, end=end, maximum=chart.alert_max, top=ALERTS_TOP,
        height=ALERTS_HEIGHT,
    )
    chart.alert_rows = firing
    chart.alert_ticks = _value_ticks(chart.alert_max, ALERTS_TOP, ALERTS_HEIGHT)
    chart.x_ticks = _time_ticks(start, end, period)
    chart.summary = _summary(chart, node_steps, firing)
    return chart


def _summary(
    chart: Chart, node_steps: list[NodeCountSample], firing: list[tuple[datetime, int]]
) -> str:
    parts = [f"Last {chart.period_label}."]
    if node_steps:
        latest = node_steps[-1]
        lowest = min(s.in_service for s in node_steps)
        parts.append(
            f"Nodes now: {latest.in_service} in service of {latest.desired} desired; "
            f"fewest in service: {lowest}."
        )
    else:
        parts.append("No node counts recorded yet.")
    most = max(count for _, count in firing)
    parts.append(f"Firing alerts now: {firing[-1][1]}; most at once: {most}.")
    return " ".join(parts)
