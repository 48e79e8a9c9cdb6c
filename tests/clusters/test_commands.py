from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from clusters.models import Cluster, InstanceType, KubernetesRelease, NodePool
from tests.factories import ClusterFactory, KubernetesReleaseFactory, NodePoolFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_eager_tasks(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture
def release():
    return KubernetesReleaseFactory(version="1.31.4", is_default=True,
                                    images={"eu-central-1": "ami-ekslinux"})


def cluster_command(*args: str) -> str:
    out = StringIO()
    call_command("cluster", *args, stdout=out)
    return out.getvalue()


def test_launch_creates_the_cluster_and_prints_its_id_and_cost(organization, release):
    out = cluster_command("launch", "--org", "acme", "--name", "demo",
                          "--instance-type", "m5.xlarge", "--workers", "3")
    cluster = Cluster.objects.get(organization=organization, name="demo")
    assert f"Cluster {cluster.id} (demo) requested." in out
    assert "a month" in out
    pool = cluster.node_pools.get()
    assert (pool.instance_type, pool.min_size, pool.max_size, pool.desired_size) == (
        "m5.xlarge", 3, 3, 3)
    assert cluster.availability_zones == ["eu-central-1a", "eu-central-1b"]


def test_launch_takes_region_zones_version_and_creator(organization, owner, release):
    KubernetesReleaseFactory(version="1.30.8", is_default=False,
                             images={"eu-central-1": "ami-ekslinux"})
    cluster_command("launch", "--org", "acme", "--name", "ha-cluster", "--azs", "3",
                    "--masters", "3", "--version", "1.30.8", "--min", "2", "--max", "5",
                    "--user", "owner@acme.test")
    cluster = Cluster.objects.get(name="ha-cluster")
    assert len(cluster.availability_zones) == 3
    assert (cluster.master_count, cluster.release.version) == (3, "1.30.8")
    assert cluster.created_by == owner
    pool = cluster.node_pools.get()
    assert (pool.min_size, pool.max_size, pool.desired_size) == (2, 5, 2)


def test_a_refused_launch_is_a_command_error_with_the_rules_messages(organization, release):
    with pytest.raises(CommandError) as error:
        cluster_command("launch", "--org", "acme", "--name", "demo",
                        "--instance-type", "m5.huge")
    assert 'node_pools.0.instance_type: "m5.huge" is not an EC2 instance type we know.' in str(
        error.value)
    assert not Cluster.objects.exists()


def test_an_unknown_organization_is_a_command_error(release):
    with pytest.raises(CommandError, match='No organization with the slug "nope"'):
        cluster_command("launch", "--org", "nope", "--name", "demo")


@pytest.fixture
def running(organization, release):
    cluster = ClusterFactory(id="r1r1r", organization=organization,
                             status=Cluster.Status.RUNNING)
    NodePoolFactory(cluster=cluster, name="default", status=Cluster.Status.RUNNING)
    return cluster


def test_scale_changes_the_pool(running):
    out = cluster_command("scale", "r1r1r", "--pool", "default", "--min", "2", "--max", "6",
                          "--desired", "4", "--instance-type", "m5.2xlarge")
    pool = running.node_pools.get()
    assert (pool.min_size, pool.max_size, pool.desired_size, pool.instance_type) == (
        2, 6, 4, "m5.2xlarge")
    assert "Scaling r1r1r/default to min 2, max 6, desired 4 (m5.2xlarge)." in out


def test_scale_with_min_above_max_is_refused(running):
    with pytest.raises(CommandError, match="cannot be larger than the maximum"):
        cluster_command("scale", "r1r1r", "--min", "6", "--max", "2")
    assert running.node_pools.get().max_size == 3


def test_scaling_an_unknown_pool_names_the_pools_there_are(running):
    with pytest.raises(CommandError, match=r'no node pool "gpu" \(it has: default\)'):
        cluster_command("scale", "r1r1r", "--pool", "gpu", "--min", "1", "--max", "2")


def test_add_pool_and_remove_pool(running):
    cluster_command("add-pool", "r1r1r", "--name", "batch", "--instance-type", "c5.2xlarge",
                    "--min", "1", "--max", "4")
    batch = NodePool.objects.get(cluster=running, name="batch")
    assert (batch.instance_type, batch.min_size, batch.max_size) == ("c5.2xlarge", 1, 4)
    cluster_command("remove-pool", "r1r1r", "--pool", "batch")
    batch.refresh_from_db()
    assert batch.status == Cluster.Status.DELETING


def test_delete_marks_the_cluster_deleting(running):
    assert "Cluster r1r1r is being deleted." in cluster_command("delete", "r1r1r")
    running.refresh_from_db()
    assert running.status == Cluster.Status.DELETING


def test_an_unknown_cluster_is_a_command_error(release):
    with pytest.raises(CommandError, match='No cluster with the id "zzzzz"'):
        cluster_command("delete", "zzzzz")


def test_retry_restarts_a_failed_cluster(organization, release):
    ClusterFactory(id="f4f4f", organization=organization, status=Cluster.Status.FAILED)
    assert "Cluster f4f4f retrying (pending)." in cluster_command("retry", "f4f4f")


def test_show_prints_status_pools_and_the_resources_of_the_ledger(running):
    running.resources.create(key="vpc", kind="vpc", aws_id="vpc-0abc", step="ensure_vpc")
    gone = running.resources.create(key="nat/a", kind="nat_gateway", aws_id="nat-0old",
                                    step="ensure_nat_gateways")
    gone.deleted_at = gone.created_at
    gone.save()
    out = cluster_command("show", "r1r1r")
    assert "status:     Running" in out
    assert "default" in out
    assert "m5.xlarge" in out
    assert "AWS resources (ledger): 1" in out
    assert "vpc-0abc" in out
    assert "nat-0old" not in out


def test_seed_releases_creates_the_default_releases():
    call_command("seed_releases", stdout=StringIO())
    assert KubernetesRelease.objects.get(is_default=True).version == "1.31.4"


def test_sync_catalog_offline_loads_the_shipped_table():
    out = StringIO()
    call_command("sync_catalog", "--offline", stdout=out)
    assert InstanceType.objects.get(name="m5.xlarge").is_recommended
    assert "from the shipped price table" in out.getvalue()


def test_sync_catalog_reads_a_region_from_ec2():
    out = StringIO()
    call_command("sync_catalog", "--region", "eu-west-1", stdout=out)
    assert InstanceType.objects.get(name="m5.xlarge").regions == ["eu-west-1"]
    assert out.getvalue().startswith("eu-west-1: ")
