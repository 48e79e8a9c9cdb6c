from decimal import Decimal

import pytest

from clusters import catalog
from clusters.models import CatalogPolicy, InstanceType, KubernetesRelease
from tests.factories import InstanceTypeFactory, KubernetesReleaseFactory

pytestmark = pytest.mark.django_db


def test_a_sync_fills_the_catalog_from_ec2_with_prices_from_the_shipped_table():
    # One sync, several facts: a sync against the sandbox takes seconds (moto lists ~1,100 types).
    offered = catalog.sync_instance_types("eu-central-1")
    assert offered > 100
    m5 = InstanceType.objects.get(name="m5.xlarge")
    assert (m5.vcpus, m5.memory_mib, m5.architecture) == (4, 16384, "x86_64")
    assert m5.regions == ["eu-central-1"]
    assert (m5.hourly_price_usd, m5.price_source) == (Decimal("0.2300"), catalog.PRICE_TABLE_SOURCE)
    graviton = InstanceType.objects.get(name="m6g.large")
    assert graviton.architecture == "arm64"
    assert graviton.hourly_price_usd is None  # not in the shipped table


def test_the_pricing_api_is_not_asked_on_the_sandbox():
    assert catalog.pricing_api_prices("eu-central-1") == {}


def test_a_second_region_is_added_to_the_types_offered_there_and_dropped_from_retired_ones():
    InstanceTypeFactory(name="z9.retired", regions=["eu-central-1", "us-east-1"])
    catalog.sync_instance_types("eu-central-1")
    catalog.sync_instance_types("us-east-1")
    assert InstanceType.objects.get(name="m5.xlarge").regions == ["eu-central-1", "us-east-1"]
    assert InstanceType.objects.get(name="z9.retired").regions == []


def test_a_sync_marks_the_default_list_recommended_and_keeps_ops_choices():
    InstanceTypeFactory(name="c5.2xlarge", regions=["eu-central-1"], is_recommended=False)
    InstanceTypeFactory(name="t3.large", regions=["eu-central-1"], is_recommended=True)
    catalog.sync_instance_types("eu-central-1")
    recommended = set(
        InstanceType.objects.filter(is_recommended=True).values_list("name", flat=True)
    )
    assert recommended == set(catalog.DEFAULT_RECOMMENDED) - {"c5.2xlarge"} | {"t3.large"}


def test_the_shipped_table_covers_each_recommended_type_in_each_region():
    for region in catalog.DEFAULT_REGIONS:
        for name in catalog.DEFAULT_RECOMMENDED:
            assert catalog.table_price(name, region) is not None, (name, region)


def test_customers_see_recommended_types_first_with_hourly_and_monthly_prices():
    catalog.load_price_table()
    offered = catalog.types_offered("eu-central-1")
    recommended = [t for t in offered if t.is_recommended]
    assert offered[: len(recommended)] == recommended
    m5 = next(t for t in offered if t.name == "m5.xlarge")
    assert (m5.vcpus, m5.memory_gib) == (4, Decimal("16.0"))
    assert m5.hourly_price_usd == Decimal("0.2300")
    assert m5.monthly_price_usd == Decimal("167.90")


def test_other_types_are_hidden_when_ops_do_not_allow_them():
    catalog.load_price_table()
    CatalogPolicy.objects.update_or_create(pk=1, defaults={"allow_other_types": False})
    names = {t.name for t in catalog.types_offered("eu-central-1")}
    assert names == set(catalog.DEFAULT_RECOMMENDED)


def test_other_types_are_offered_when_ops_allow_them():
    catalog.load_price_table()
    CatalogPolicy.objects.update_or_create(pk=1, defaults={"allow_other_types": True})
    assert "t3.large" in {t.name for t in catalog.types_offered("eu-central-1")}


def test_types_not_offered_in_a_region_are_not_listed_there():
    InstanceTypeFactory(name="x9.large", regions=["us-east-1"])
    assert "x9.large" not in {t.name for t in catalog.types_offered("eu-central-1")}


def test_regional_prices_come_from_the_table_for_other_regions(settings):
    settings.AWS_DEFAULT_REGION = "eu-central-1"
    catalog.load_price_table()
    us = {t.name: t for t in catalog.types_offered("us-east-1")}
    assert us["m5.xlarge"].hourly_price_usd == Decimal("0.1920")


def test_availability_zones_are_read_from_ec2():
    assert catalog.availability_zones("eu-west-1") == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


def test_seeding_releases_creates_a_default_with_sandbox_images():
    catalog.seed_releases()
    assert list(KubernetesRelease.objects.values_list("version", flat=True)) == [
        "1.32.0", "1.31.4", "1.30.8"
    ]
    default = catalog.default_release()
    assert default.version == "1.31.4"
    assert default.images["eu-central-1"] == catalog.SANDBOX_NODE_IMAGE


def test_seeding_twice_changes_nothing_and_keeps_an_existing_default():
    KubernetesReleaseFactory(version="1.29.9", is_default=True)
    catalog.seed_releases()
    catalog.seed_releases()
    assert KubernetesRelease.objects.count() == 4
    assert catalog.default_release().version == "1.29.9"


def test_the_sandbox_node_image_exists_in_the_sandbox_aws():
    from clusters.provisioning.aws import aws_client

    for region in catalog.DEFAULT_REGIONS:
        images = aws_client("ec2", region).describe_images(ImageIds=[catalog.SANDBOX_NODE_IMAGE])
        assert [i["ImageId"] for i in images["Images"]] == [catalog.SANDBOX_NODE_IMAGE]


def test_only_active_releases_are_offered():
    KubernetesReleaseFactory(version="1.31.4", is_default=True)
    KubernetesReleaseFactory(version="1.28.0", is_default=False, is_active=False)
    assert [r.version for r in catalog.offered_releases()] == ["1.31.4"]
