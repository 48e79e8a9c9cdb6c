"""The create page: the form, its inline errors, and who may use it."""

import pytest
from django.urls import reverse

from clusters.models import CatalogPolicy, Cluster
from tests.factories import InstanceTypeFactory, KubernetesReleaseFactory

pytestmark = pytest.mark.django_db

CREATE = reverse("clusters:create")
PREVIEW = reverse("clusters:preview")


@pytest.fixture(autouse=True)
def catalog():
    KubernetesReleaseFactory(version="1.31.4", is_default=True, images={"eu-central-1": "ami-1"})
    InstanceTypeFactory(name="m5.xlarge", vcpus=4, memory_mib=16384, is_recommended=True)
    InstanceTypeFactory(name="r5.large", vcpus=2, memory_mib=16384, is_recommended=False)


def test_create_page_offers_recommended_types_first_with_their_figures(client, member):
    client.force_login(member)
    html = client.get(CREATE).content.decode()
    assert html.index("m5.xlarge") < html.index("r5.large")
    assert "4 vCPU · 16 GiB" in html
    assert "$168/month" in html  # 0.23 $/h × 730 h
    assert "Show all types" in html
    assert 'hx-post="' + PREVIEW + '"' in html


def test_other_types_are_hidden_when_ops_allow_only_recommended(client, member):
    policy = CatalogPolicy.current()
    policy.allow_other_types = False
    policy.save()
    client.force_login(member)
    html = client.get(CREATE).content.decode()
    assert "r5.large" not in html
    assert "Show all types" not in html


def test_availability_zones_default_to_two_and_workers_to_three(client, member):
    client.force_login(member)
    form = client.get(CREATE).context["form"]
    assert form["availability_zone_count"].value() == 2
    assert form["min_size"].value() == 3
    assert form["max_size"].value() == 3


def test_viewer_cannot_open_or_post_the_create_form(client, viewer):
    client.force_login(viewer)
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, {"name": "sneaky"}).status_code == 403
    assert not Cluster.objects.exists()


def test_invalid_input_is_shown_inline_and_kept(client, member):
    client.force_login(member)
    response = client.post(
        CREATE,
        {"name": "ab", "region": "eu-central-1", "availability_zone_count": 2,
         "kubernetes_version": "1.31.4", "instance_type": "m5.xlarge", "min_size": 5,
         "max_size": 4},
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "Ensure this value has at least 3 characters" in html
    assert "Must be at least the minimum." in html
    assert 'value="ab"' in html
    assert not Cluster.objects.exists()


def test_preview_of_an_invalid_form_returns_its_errors_out_of_band(client, member):
    client.force_login(member)
    response = client.post(PREVIEW, {"name": "", "min_size": 5, "max_size": 4})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="preview"' in html
    assert 'id="errors-name" hx-swap-oob="true"' in html
    assert "This field is required." in html
    assert "Fix the highlighted fields" in html
