import base64
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection

from accounts.models import IdentityProvider
from clusters.kubeconfig import ensure_cluster_ca
from clusters.models import Cluster
from tests.factories import ClusterFactory


@pytest.fixture
def identity_provider(organization):
    return IdentityProvider.objects.create(
        organization=organization,
        name="Acme SSO",
        issuer="https://sso.acme.test/realms/acme",
        client_id="happa-acme",
        client_secret="s3cret",  # noqa: S106
    )


@pytest.mark.django_db
def test_the_kubeconfig_reaches_the_clusters_api_with_its_ca_and_oidc(
    member_api, organization, identity_provider
):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)

    response = member_api.get(f"/clusters/{cluster.id}/kubeconfig")

    assert response.status_code == 200
    name = f"acme-{cluster.id}"
    assert response.json()["context"] == name
    config = yaml.safe_load(response.json()["kubeconfig"])
    assert config["apiVersion"] == "v1"
    assert config["kind"] == "Config"
    assert config["current-context"] == name
    assert config["contexts"] == [{"name": name, "context": {"cluster": name, "user": name}}]
    [entry] = config["clusters"]
    assert entry["name"] == name
    assert entry["cluster"]["server"] == f"https://api.{cluster.id}.k8s.happa.test"
    ca_pem = base64.b64decode(entry["cluster"]["certificate-authority-data"])
    cluster.refresh_from_db()
    assert ca_pem.decode() == cluster.ca_certificate
    [user] = config["users"]
    assert user["name"] == name
    assert user["user"]["exec"] == {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "kubectl",
        "args": [
            "oidc-login",
            "get-token",
            "--oidc-issuer-url=https://sso.acme.test/realms/acme",
            "--oidc-client-id=happa-acme",
            "--oidc-extra-scope=email",
            "--oidc-extra-scope=groups",
        ],
        "interactiveMode": "IfAvailable",
        "provideClusterInfo": False,
    }
    assert "s3cret" not in response.json()["kubeconfig"]


@pytest.mark.django_db
def test_each_cluster_gets_its_own_ten_year_p256_certificate_authority(organization):
    first, second = ClusterFactory(organization=organization), ClusterFactory(
        organization=organization
    )

    certificates = [
        x509.load_pem_x509_certificate(ensure_cluster_ca(c).encode()) for c in (first, second)
    ]

    assert certificates[0].fingerprint(certificates[0].signature_hash_algorithm) != (
        certificates[1].fingerprint(certificates[1].signature_hash_algorithm)
    )
    for certificate, cluster in zip(certificates, (first, second), strict=True):
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.value.ca is True
        assert certificate.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
        assert isinstance(certificate.public_key().curve, ec.SECP256R1)
        assert cluster.id in certificate.subject.rfc4514_string()
        lifetime = certificate.not_valid_after_utc - datetime.now(UTC)
        assert timedelta(days=3640) < lifetime <= timedelta(days=3650)


@pytest.mark.django_db
def test_the_ca_is_made_once_and_its_key_is_stored_encrypted(organization):
    cluster = ClusterFactory(organization=organization)

    first = ensure_cluster_ca(cluster)
    again = ensure_cluster_ca(Cluster.objects.get(pk=cluster.pk))

    assert first == again
    with connection.cursor() as cursor:
        cursor.execute("SELECT ca_private_key FROM clusters_cluster WHERE id = %s", [cluster.id])
        stored = cursor.fetchone()[0]
    assert "PRIVATE KEY" not in stored
    assert "PRIVATE KEY" in Cluster.objects.get(pk=cluster.pk).ca_private_key


@pytest.mark.django_db
def test_without_an_identity_provider_the_kubeconfig_is_refused_with_advice(
    member_api, organization
):
    cluster = ClusterFactory(organization=organization)

    response = member_api.get(f"/clusters/{cluster.id}/kubeconfig")

    assert response.status_code == 409
    assert response.json()["error"] == "kubeconfig_unavailable"
    assert "identity provider" in response.json()["message"]
    cluster.refresh_from_db()
    assert cluster.ca_certificate == ""


@pytest.mark.django_db
def test_another_tenants_kubeconfig_is_a_404(member_api, other_organization):
    theirs = ClusterFactory(organization=other_organization)

    assert member_api.get(f"/clusters/{theirs.id}/kubeconfig").status_code == 404
