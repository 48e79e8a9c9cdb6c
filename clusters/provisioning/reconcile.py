"""The engine: the ordered step lists, the per-cluster lock, and `reconcile`, which moves a
cluster one run closer to its desired state and says when to run again.

A run claims the cluster with a conditional UPDATE (the lock), then runs every step of its phase
in order. Steps that are done return at once (their ledger row exists), so a run after a crash
picks up where the last stopped. A step that waits on AWS raises NotReady: the run ends and asks
to be run again in a few seconds; it never sleeps.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clusters.events import record_event
from clusters.models import Cluster, Event
from clusters.provisioning.bastions import ensure_bastions
from clusters.provisioning.context import StepContext
from clusters.provisioning.control_plane import ensure_alarms, ensure_load_balancers, ensure_masters
from clusters.provisioning.dns import ensure_dns
from clusters.provisioning.errors import NotReady, ProvisioningFailed, is_transient, user_reason
from clusters.provisioning.identity import ensure_iam_roles, ensure_key_pair, ensure_kms_key
from clusters.provisioning.network import (
    ensure_internet_gateway,
    ensure_nat_gateways,
    ensure_route_tables,
    ensure_security_groups,
    ensure_subnets,
    ensure_vpc,
    wait_for_nat_gateways,
)
from clusters.provisioning.node_pools import ensure_node_pools
from clusters.provisioning.teardown import TEARDOWN_STEPS, mark_deleted, sweep

log = logging.getLogger(__name__)

Step = Callable[[StepContext], None]


def mark_running(ctx: StepContext) -> None:
    with transaction.atomic():
        previous = ctx.cluster.status
        updated = Cluster.objects.filter(
            pk=ctx.id, status__in=[Cluster.Status.CREATING, Cluster.Status.UPDATING]
        ).update(status=Cluster.Status.RUNNING, status_reason="", current_step="")
        if updated:
            message = ("Cluster is running" if previous == Cluster.Status.CREATING
                       else "Cluster is running with its new settings")
            record_event(ctx.cluster, message, kind=Event.Kind.STATUS, step=ctx.step,
                         status=Cluster.Status.RUNNING)


CREATE_STEPS: list[Step] = [
    ensure_vpc,
    ensure_internet_gateway,
    ensure_subnets,
    ensure_nat_gateways,
    wait_for_nat_gateways,
    ensure_route_tables,
    ensure_security_groups,
    ensure_iam_roles,
    ensure_kms_key,
    ensure_key_pair,
    ensure_bastions,
    ensure_load_balancers,
    ensure_masters,
    ensure_node_pools,
    ensure_dns,
    ensure_alarms,
    mark_running,
]

DELETE_STEPS: list[Step] = [*TEARDOWN_STEPS, sweep, mark_deleted]

# Transient AWS errors back off 5 s, 10 s, 20 s … up to 5 minutes; after this many in a row the
# cluster fails with the last error (retry_provisioning starts over).
MAX_TRANSIENT_ATTEMPTS = 10


def backoff(attempt: int) -> int:
    return min(300, 5 * 2**attempt)


@dataclass
class Outcome:
    """What a run asks of its caller: run again in `retry_in` seconds (None: nothing to do)."""

    retry_in: int | None = None
    attempt: int = 0  # consecutive transient failures, carried to the next run for backoff
    busy: bool = False  # another run holds the cluster's lock


# --- the per-cluster lock -----------------------------------------------------------------------

def lock_seconds() -> int:
    return settings.HAPPA_RECONCILE_LOCK_SECONDS


@dataclass
class ClusterLock:
    cluster_id: str
    token: str

    def extend(self) -> bool:
        """Push the expiry on while working; False if the lock lapsed and another run took it."""
        until = timezone.now() + timedelta(seconds=lock_seconds())
        return bool(Cluster.objects.filter(pk=self.cluster_id, lock_token=self.token).update(
            locked_until=until, last_reconciled_at=timezone.now()
        ))


def acquire_lock(cluster_id: str) -> ClusterLock | None:
    """A conditional UPDATE: only a free or lapsed lock is taken, so two workers cannot both
    win. A lock expires, so a worker killed mid-run blocks its cluster for a short while only."""
    now = timezone.now()
    token = uuid.uuid4().hex
    taken = Cluster.objects.filter(pk=cluster_id).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    ).update(lock_token=token, locked_until=now + timedelta(seconds=lock_seconds()))
    return ClusterLock(cluster_id, token) if taken else None


def release_lock(lock: ClusterLock) -> None:
    Cluster.objects.filter(pk=lock.cluster_id, lock_token=lock.token).update(
        lock_token="", locked_until=None
    )


@contextmanager
def cluster_lock(cluster_id: str) -> Iterator[ClusterLock | None]:
    lock = acquire_lock(cluster_id)
    try:
        yield lock
    finally:
        if lock:
            release_lock(lock)


# --- the run --------------------------------------------------------------------------------

def pools_need_work(cluster: Cluster) -> bool:
    return cluster.node_pools.exclude(
        status__in=[Cluster.Status.RUNNING, Cluster.Status.DELETED]
    ).exists()


def set_status(cluster: Cluster, old: list[str], new: str, message: str, **fields) -> bool:
    """A conditional transition with its event; False if another run moved the cluster first."""
    with transaction.atomic():
        moved = Cluster.objects.filter(pk=cluster.pk, status__in=old).update(
            status=new, **fields
        )
        if moved:
            cluster.status = new
            for name, value in fields.items():
                setattr(cluster, name, value)
            level = Event.Level.ERROR if new == Cluster.Status.FAILED else Event.Level.INFO
            record_event(cluster, message, kind=Event.Kind.STATUS, level=level, status=new)
    return bool(moved)


def steps_for(cluster: Cluster) -> list[Step]:
    if cluster.status == Cluster.Status.DELETING:
        return DELETE_STEPS
    return CREATE_STEPS


def reconcile(cluster_id: str, *, lock: ClusterLock | None = None, attempt: int = 0) -> Outcome:
    """Run the cluster's steps for its current phase. Without a lock, takes one itself."""
    if lock is None:
        with cluster_lock(cluster_id) as own:
            if own is None:
                return Outcome(busy=True)
            return reconcile(cluster_id, lock=own, attempt=attempt)

    cluster = Cluster.objects.select_related("organization", "release").get(pk=cluster_id)
    phase_start = {"steps_done": 0, "current_step": "", "status_reason": ""}
    if cluster.status == Cluster.Status.PENDING:
        set_status(cluster, [Cluster.Status.PENDING], Cluster.Status.CREATING,
                   "Provisioning started", **phase_start)
    elif cluster.status == Cluster.Status.RUNNING and pools_need_work(cluster):
        set_status(cluster, [Cluster.Status.RUNNING], Cluster.Status.UPDATING,
                   "Applying node pool changes", **phase_start)
    if cluster.status not in (Cluster.Status.CREATING, Cluster.Status.UPDATING,
                              Cluster.Status.DELETING):
        return Outcome()
    return run_steps(cluster, steps_for(cluster), lock, attempt)


def run_steps(cluster: Cluster, steps: list[Step], lock: ClusterLock, attempt: int) -> Outcome:
    ctx = StepContext(cluster)
    # Progress carries over between runs of one phase; a finished count means a new phase
    # (an update of a running cluster, a retry) that starts from step one.
    same_phase = cluster.steps_total == len(steps) and cluster.steps_done < len(steps)
    done_before = cluster.steps_done if same_phase else 0
    Cluster.objects.filter(pk=cluster.pk).update(steps_done=done_before)
    Cluster.objects.filter(pk=cluster.pk).update(steps_total=len(steps))
    deadline = time.monotonic() + settings.HAPPA_RECONCILE_RUN_SECONDS
    for index, step in enumerate(steps):
        if not lock.extend():
            log.warning("lost the lock of cluster %s; another run continues", cluster.pk)
            return Outcome(busy=True)
        ctx.step = step.__name__
        Cluster.objects.filter(pk=cluster.pk).update(current_step=ctx.step)
        try:
            step(ctx)
        except NotReady as wait:
            note_waiting(cluster, ctx.step, wait.message)
            return Outcome(retry_in=wait.retry_in)
        except Exception as exc:  # noqa: BLE001 - every failure is classified and reported
            return handle_failure(cluster, ctx.step, exc, attempt)
        if index >= done_before and step not in (mark_running, mark_deleted):
            with transaction.atomic():
                Cluster.objects.filter(pk=cluster.pk).update(steps_done=index + 1)
                record_event(cluster, f"Step {index + 1} of {len(steps)} done: {ctx.step}",
                             step=ctx.step)
        if time.monotonic() > deadline:
            # Long work is many short runs: let other clusters have the worker.
            return Outcome(retry_in=1)
    Cluster.objects.filter(pk=cluster.pk).update(steps_done=len(steps), current_step="")
    return Outcome()


def note_waiting(cluster: Cluster, step: str, message: str) -> None:
    """One event per distinct wait, not one per poll."""
    last = cluster.events.order_by("-id").first()
    if last is None or last.message != message:
        record_event(cluster, message, step=step)


def handle_failure(cluster: Cluster, step: str, exc: Exception, attempt: int) -> Outcome:
    if is_transient(exc) and attempt + 1 < MAX_TRANSIENT_ATTEMPTS:
        delay = backoff(attempt)
        log.info("transient AWS error in %s of %s: %s", step, cluster.pk, exc)
        record_event(cluster, f"AWS is busy ({exc}); trying step {step} again in {delay} s",
                     level=Event.Level.WARNING, step=step)
        return Outcome(retry_in=delay, attempt=attempt + 1)
    if not isinstance(exc, ProvisioningFailed):
        log.warning("step %s of cluster %s failed", step, cluster.pk, exc_info=exc)
    reason = user_reason(exc, step)
    set_status(cluster, [cluster.status], Cluster.Status.FAILED, reason, status_reason=reason)
    return Outcome()


def stuck_clusters(older_than: timedelta) -> list[str]:
    """Clusters in a working state that no run has touched lately and no live run holds."""
    now = timezone.now()
    return list(
        Cluster.objects.filter(
            status__in=[Cluster.Status.PENDING, Cluster.Status.CREATING,
                        Cluster.Status.UPDATING, Cluster.Status.DELETING]
        )
        .filter(Q(last_reconciled_at__isnull=True) | Q(last_reconciled_at__lt=now - older_than))
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .values_list("pk", flat=True)
    )


__all__ = ["CREATE_STEPS", "DELETE_STEPS", "Outcome", "cluster_lock", "reconcile"]
