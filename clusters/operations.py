"""What users ask of clusters, for every way in (web UI, API, manage.py): validated, then queued.

Each function checks the request against the rules (clusters/rules.py: catalog, quota, names),
changes the rows that hold the desired state, records an event and an audit entry, and enqueues a
reconcile after commit. Bad input raises `InvalidRequest` with a message per field and changes
nothing: validation happens before the first write, and writes share one transaction.
"""

from __future__ import annotations

from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import record_audit
from accounts.models import Organization, User
from clusters import catalog, rules
from clusters.events import record_event
from clusters.models import Cluster, Event, NodePool, new_cluster_id
from clusters.specs import ClusterSpec, InvalidRequest, NodePoolSpec
from clusters.tasks import reconcile_cluster

__all__ = [
    "ClusterSpec",
    "InvalidRequest",
    "NodePoolSpec",
    "add_node_pool",
    "enqueue_reconcile",
    "launch_cluster",
    "request_cluster_deletion",
    "request_node_pool_deletion",
    "request_scale",
    "retry_provisioning",
]

ID_ATTEMPTS = 10
# Event data that marks a deletion request: a failed cluster that was being deleted resumes
# deleting on retry, never creating again.
DELETION_REQUESTED = "deletion_requested"


def enqueue_reconcile(cluster_id: str) -> None:
    """Reconcile once the desired state is committed (a worker must see the rows we wrote)."""
    transaction.on_commit(partial(reconcile_cluster.delay, cluster_id))


def _lock_organization(organization: Organization) -> None:
    # Serializes launches and scale requests of one organization, so two concurrent requests
    # cannot both pass the quota check or pick the same VPC CIDR.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()


def launch_cluster(organization: Organization, user: User | None, spec: ClusterSpec) -> Cluster:
    with transaction.atomic():
        _lock_organization(organization)
        valid = rules.validate_launch(organization, spec)
        cidr = rules.free_vpc_cidr(organization)
        if cidr is None:
            raise InvalidRequest({"": ["No free VPC address range is left for this organization."]})
        cluster = _create_cluster(organization, user, valid, cidr)
        for pool in valid.node_pools:
            NodePool.objects.create(
                cluster=cluster,
                name=pool.name,
                instance_type=pool.instance_type,
                min_size=pool.min_size,
                max_size=pool.max_size,
                desired_size=pool.desired_size,
            )
        record_event(
            cluster,
            "Cluster requested",
            kind=Event.Kind.STATUS,
            status=Cluster.Status.PENDING,
            requested_by=str(user) if user else "system",
        )
        record_audit(
            "cluster.launched",
            organization=organization,
            actor=user,
            target=cluster.id,
            name=cluster.name,
            region=cluster.region,
            availability_zones=cluster.availability_zones,
            kubernetes_version=valid.release.version,
            node_pools=[
                {"name": p.name, "instance_type": p.instance_type, "min": p.min_size,
                 "max": p.max_size, "desired": p.desired_size}
                for p in valid.node_pools
            ],
        )
        enqueue_reconcile(cluster.id)
    return cluster


def _create_cluster(
    organization: Organization, user: User | None, valid: rules.ValidLaunch, cidr: str
) -> Cluster:
    """Insert the row; a random id that collides with an existing cluster is drawn again."""
    for _ in range(ID_ATTEMPTS):
        cluster_id = new_cluster_id()
        if Cluster.objects.filter(pk=cluster_id).exists():
            continue
        try:
            with transaction.atomic():
                return Cluster.objects.create(
                    id=cluster_id,
                    organization=organization,
                    name=valid.spec.name,
                    region=valid.spec.region,
                    availability_zones=valid.availability_zones,
                    release=valid.release,
                    master_count=valid.spec.master_count,
                    vpc_cidr=cidr,
                    created_by=user,
                )
        except IntegrityError:
            # A concurrent launch took the id between the check and the insert; if it was the
            # name instead, the check below turns it into the user's message.
            if Cluster.objects.filter(organization=organization, name=valid.spec.name).live():
                message = f'{organization.name} already has a cluster named "{valid.spec.name}".'
                raise InvalidRequest({"name": [message]}) from None
    raise InvalidRequest({"": ["Could not allocate a cluster id; please try again."]})


def _require_changeable(cluster: Cluster) -> None:
    if not cluster.is_changeable:
        raise InvalidRequest(
            {"": [f"Cluster {cluster.id} is {cluster.get_status_display().lower()}; its node pools "
                  "can be changed once it is running."]}
        )


def _mark_updating(cluster: Cluster) -> None:
    cluster.status = Cluster.Status.UPDATING
    cluster.status_reason = ""
    cluster.save(update_fields=["status", "status_reason", "updated_at"])


def request_scale(
    pool: NodePool,
    *,
    min_size: int,
    max_size: int,
    desired_size: int | None = None,
    instance_type: str | None = None,
    user: User | None = None,
) -> NodePool:
    cluster = pool.cluster
    organization = cluster.organization
    with transaction.atomic():
        _lock_organization(organization)
        pool.refresh_from_db()
        cluster.refresh_from_db()
        _require_changeable(cluster)
        if pool.status in (Cluster.Status.DELETING, Cluster.Status.DELETED):
            raise InvalidRequest({"": [f"Node pool {pool.name} is being deleted."]})
        problems = rules.Problems()
        if desired_size is None:
            # Keep the current size when it still fits; otherwise the nearest bound.
            desired_size = min(max(pool.desired_size, min_size), max_size)
        rules.check_sizes(problems, min_size, max_size, desired_size)
        new_type = instance_type or pool.instance_type
        if instance_type and instance_type != pool.instance_type:
            problem = catalog.instance_type_problem(instance_type, cluster.region)
            if problem:
                problems.add("instance_type", problem)
        if "max_size" not in problems.fields:
            rules.check_node_quota(
                problems, organization, max_size, "max_size", excluding_pool=pool
            )
        problems.raise_any()

        before = {"min": pool.min_size, "max": pool.max_size, "desired": pool.desired_size,
                  "instance_type": pool.instance_type}
        after = {"min": min_size, "max": max_size, "desired": desired_size,
                 "instance_type": new_type}
        pool.min_size, pool.max_size, pool.desired_size = min_size, max_size, desired_size
        pool.instance_type = new_type
        pool.status = Cluster.Status.UPDATING
        pool.save()
        _mark_updating(cluster)
        change = f"min {min_size}, max {max_size}, desired {desired_size}"
        if new_type != before["instance_type"]:
            change += f", instance type {before['instance_type']} → {new_type}"
        record_event(
            cluster, f"Node pool {pool.name} scale requested: {change}", kind=Event.Kind.SCALE,
            pool=pool.name, before=before, after=after,
        )
        record_audit("cluster.pool_scaled", organization=organization, actor=user,
                     target=f"{cluster.id}/{pool.name}", before=before, after=after)
        enqueue_reconcile(cluster.id)
    return pool


def add_node_pool(cluster: Cluster, spec: NodePoolSpec, user: User | None = None) -> NodePool:
    organization = cluster.organization
    with transaction.atomic():
        _lock_organization(organization)
        cluster.refresh_from_db()
        _require_changeable(cluster)
        spec = rules.with_desired(spec)
        problems = rules.Problems()
        rules.check_pool(problems, spec, cluster.region)
        live = cluster.node_pools.exclude(status=Cluster.Status.DELETED)
        if live.filter(name=spec.name).exists():
            problems.add(
                "name", f'Cluster {cluster.id} already has a node pool named "{spec.name}".'
            )
        if live.count() >= rules.MAX_POOLS_PER_CLUSTER:
            problems.add(
                "", f"A cluster can have at most {rules.MAX_POOLS_PER_CLUSTER} node pools."
            )
        if not problems.fields:
            rules.check_node_quota(problems, organization, spec.max_size, "max_size")
        problems.raise_any()

        pool = NodePool.objects.create(
            cluster=cluster, name=spec.name, instance_type=spec.instance_type,
            min_size=spec.min_size, max_size=spec.max_size, desired_size=spec.desired_size,
        )
        _mark_updating(cluster)
        record_event(
            cluster,
            f"Node pool {pool.name} requested: {pool.instance_type}, min {pool.min_size}, "
            f"max {pool.max_size}, desired {pool.desired_size}",
            kind=Event.Kind.SCALE, pool=pool.name,
        )
        record_audit("cluster.pool_added", organization=organization, actor=user,
                     target=f"{cluster.id}/{pool.name}", instance_type=pool.instance_type,
                     min=pool.min_size, max=pool.max_size, desired=pool.desired_size)
        enqueue_reconcile(cluster.id)
    return pool


def request_node_pool_deletion(pool: NodePool, user: User | None = None) -> NodePool:
    cluster = pool.cluster
    with transaction.atomic():
        _lock_organization(cluster.organization)
        pool.refresh_from_db()
        cluster.refresh_from_db()
        _require_changeable(cluster)
        if pool.status in (Cluster.Status.DELETING, Cluster.Status.DELETED):
            raise InvalidRequest({"": [f"Node pool {pool.name} is already being deleted."]})
        remaining = cluster.node_pools.exclude(
            status__in=[Cluster.Status.DELETING, Cluster.Status.DELETED]
        ).exclude(pk=pool.pk)
        if not remaining.exists():
            raise InvalidRequest(
                {"": [f"{pool.name} is the cluster's last node pool; delete the cluster instead."]}
            )
        pool.status = Cluster.Status.DELETING
        pool.save(update_fields=["status", "updated_at"])
        _mark_updating(cluster)
        record_event(cluster, f"Node pool {pool.name} deletion requested", kind=Event.Kind.SCALE,
                     pool=pool.name)
        record_audit("cluster.pool_deleted", organization=cluster.organization, actor=user,
                     target=f"{cluster.id}/{pool.name}")
        enqueue_reconcile(cluster.id)
    return pool


def request_cluster_deletion(cluster: Cluster, user: User | None = None) -> Cluster:
    with transaction.atomic():
        cluster.refresh_from_db()
        if not cluster.is_deletable:
            raise InvalidRequest(
                {"": [f"Cluster {cluster.id} is already {cluster.get_status_display().lower()}."]}
            )
        previous = cluster.status
        cluster.status = Cluster.Status.DELETING
        cluster.status_reason = ""
        cluster.save(update_fields=["status", "status_reason", "updated_at"])
        record_event(cluster, "Cluster deletion requested", kind=Event.Kind.STATUS,
                     status=Cluster.Status.DELETING, action=DELETION_REQUESTED, previous=previous)
        record_audit("cluster.deletion_requested", organization=cluster.organization, actor=user,
                     target=cluster.id, name=cluster.name, previous_status=previous)
        enqueue_reconcile(cluster.id)
    return cluster


def retry_provisioning(cluster: Cluster, user: User | None = None) -> Cluster:
    """A failed cluster tries again from where it stopped: deleting if it was being deleted,
    updating if it had been running, otherwise pending (the engine claims pending → creating)."""
    with transaction.atomic():
        cluster.refresh_from_db()
        if cluster.status != Cluster.Status.FAILED:
            raise InvalidRequest(
                {"": [f"Only a failed cluster can be retried; {cluster.id} is "
                      f"{cluster.get_status_display().lower()}."]}
            )
        history = cluster.events.filter(kind=Event.Kind.STATUS)
        if history.filter(data__action=DELETION_REQUESTED).exists():
            status = Cluster.Status.DELETING
        elif history.filter(data__status=Cluster.Status.RUNNING).exists():
            status = Cluster.Status.UPDATING
        else:
            status = Cluster.Status.PENDING
        reason = cluster.status_reason
        cluster.status = status
        cluster.status_reason = ""
        cluster.save(update_fields=["status", "status_reason", "updated_at"])
        if status != Cluster.Status.DELETING:
            cluster.node_pools.filter(status=Cluster.Status.FAILED).update(
                status=status, updated_at=timezone.now()
            )
        record_event(cluster, f"Retry requested: {status}", kind=Event.Kind.STATUS,
                     status=status, previous_reason=reason)
        record_audit("cluster.retried", organization=cluster.organization, actor=user,
                     target=cluster.id, status=status, previous_reason=reason)
        enqueue_reconcile(cluster.id)
    return cluster
