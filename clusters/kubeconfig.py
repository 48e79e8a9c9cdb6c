"""Each cluster's own certificate authority, and the kubeconfig that reaches its API with OIDC.

The CA is made on first use (EC P-256, ten years) and kept on the cluster row, the key encrypted.
The kubeconfig's user runs kubelogin (`kubectl oidc-login get-token`) against the organization's
identity provider, so kubectl acts as the signed-in person and carries no secret of its own.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from accounts.models import IdentityProvider
from clusters.models import Cluster

CA_VALIDITY = timedelta(days=3650)
OIDC_EXTRA_SCOPES = ("email", "groups")


class KubeconfigUnavailable(Exception):
    """The kubeconfig cannot be made yet; the message says what to do."""


def generate_ca(cluster_id: str) -> tuple[str, str]:
    """A new self-signed CA for the cluster: (certificate PEM, private key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Happa"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{cluster_id} cluster CA"),
        ]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return certificate_pem, key_pem


def ensure_cluster_ca(cluster: Cluster) -> str:
    """The cluster's CA certificate (PEM), made and stored on first use."""
    if not cluster.ca_certificate:
        certificate_pem, key_pem = generate_ca(cluster.id)
        # Conditional: two first requests at once must not leave two different CAs around.
        Cluster.objects.filter(pk=cluster.pk, ca_certificate="").update(
            ca_certificate=certificate_pem, ca_private_key=key_pem
        )
        cluster.refresh_from_db(fields=["ca_certificate", "ca_private_key"])
    return cluster.ca_certificate


def context_name(cluster: Cluster) -> str:
    return f"{cluster.organization.slug}-{cluster.id}"


def oidc_exec_user(provider: IdentityProvider) -> dict:
    args = [
        "oidc-login",
        "get-token",
        f"--oidc-issuer-url={provider.issuer}",
        f"--oidc-client-id={provider.client_id}",
    ]
    args += [f"--oidc-extra-scope={scope}" for scope in OIDC_EXTRA_SCOPES]
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "kubectl",
            "args": args,
            "interactiveMode": "IfAvailable",
            "provideClusterInfo": False,
        }
    }


def build_kubeconfig(cluster: Cluster) -> dict:
    """The kubeconfig for the cluster, as a dict; KubeconfigUnavailable without an IdP."""
    provider = IdentityProvider.objects.filter(organization_id=cluster.organization_id).first()
    if provider is None:
        raise KubeconfigUnavailable(
            f"The organization {cluster.organization.slug} has no identity provider: the cluster "
            "API signs people in with OIDC. An admin sets one up under the organization's "
            "single sign-on settings first."
        )
    if cluster.status == Cluster.Status.DELETED:
        raise KubeconfigUnavailable(f"The cluster {cluster.id} is deleted.")
    name = context_name(cluster)
    ca_data = base64.b64encode(ensure_cluster_ca(cluster).encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {
                "name": name,
                "cluster": {
                    "server": f"https://{cluster.api_hostname}",
                    "certificate-authority-data": ca_data,
                },
            }
        ],
        "users": [{"name": name, "user": oidc_exec_user(provider)}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }


def render_kubeconfig(cluster: Cluster) -> str:
    return yaml.safe_dump(build_kubeconfig(cluster), sort_keys=False)
