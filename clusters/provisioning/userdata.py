"""Cloud-init user-data for bastions, masters (kubeadm init, OIDC flags, Calico, ingress) and
workers (kubeadm join), rendered from templates under templates/clusters/userdata/.

Values reach the YAML templates JSON-encoded (a JSON string is a valid YAML scalar), so an issuer
URL or a PEM block can never break the document. Files a node writes (kubeadm configuration, boot
scripts) are rendered from their own templates first, then embedded the same way.

Secrets the nodes share are derived, not stored: the kubeadm bootstrap token and certificate key
are an HMAC of the cluster's id and creation time under SECRET_KEY, so every render for a cluster
(first boot, a scale-out months later) gives the same values and the API's database holds none.
The cluster CA (clusters/kubeconfig.py) is handed to the masters, so kubeconfigs made by Happa
trust the API server kubeadm sets up. User-data is readable from the instance metadata service
(IMDSv2 in the engine's launch templates, hop limit 2): docs/catalog.md names that exposure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import string
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.template.loader import render_to_string

from accounts.models import IdentityProvider
from clusters.kubeconfig import ensure_cluster_ca
from clusters.models import Cluster, NodePool
from clusters.provisioning.network import INGRESS_HTTP_NODE_PORT, INGRESS_HTTPS_NODE_PORT

ROLES = ("bastion", "master", "worker")
TEMPLATE_DIR = "clusters/userdata"

# Pod and service networks inside every cluster. Neither may overlap a VPC (10.<n>.0.0/16, see
# clusters/rules.py): kubeadm's default service range 10.96.0.0/12 would.
POD_SUBNET = "192.168.0.0/16"  # Calico's default IP pool
SERVICE_SUBNET = "172.20.0.0/16"
API_SERVER_PORT = 6443  # behind the API load balancer's 443
CALICO_VERSION = "v3.29.1"
CALICO_MANIFEST = (
    f"https://raw.githubusercontent.com/projectcalico/calico/{CALICO_VERSION}/manifests/calico.yaml"
)
INGRESS_NGINX_VERSION = "controller-v1.12.0"
INGRESS_NGINX_MANIFEST = (
    "https://raw.githubusercontent.com/kubernetes/ingress-nginx/"
    f"{INGRESS_NGINX_VERSION}/deploy/static/provider/baremetal/deploy.yaml"
)
USERNAME_CLAIM = "email"
POOL_LABEL = "happa.io/node-pool"
TOKEN_ALPHABET = string.ascii_lowercase + string.digits


def render_user_data(cluster: Cluster, role: str, pool: NodePool | None = None) -> str:
    """User-data for one node role: "bastion", "master" or "worker" (with its pool)."""
    if role not in ROLES:
        raise ValueError(f"unknown node role {role!r}; expected one of {', '.join(ROLES)}")
    if role == "worker" and pool is None:
        raise ValueError("worker user-data needs the node pool")
    context = node_context(cluster, role, pool)
    if role == "master":
        context["has_identity_provider"] = bool(oidc_flags(cluster))
        context["files"] = master_files(cluster, context)
    elif role == "worker":
        context["files"] = worker_files(cluster, context, pool)
    return render_to_string(f"{TEMPLATE_DIR}/{role}.yaml", quoted(context))


# --- what the templates get -----------------------------------------------------------------------


def node_context(cluster: Cluster, role: str, pool: NodePool | None) -> dict[str, Any]:
    version = cluster.release.version
    minor = ".".join(version.split(".")[:2])
    return {
        "cluster_id": cluster.id,
        "organization": cluster.organization.slug,
        "role": role,
        "pool": pool.name if pool else "",
        "hostname_prefix": f"{cluster.id}-{role}" + (f"-{pool.name}" if pool else ""),
        "ssh_keys": [key for key in [cluster.organization.ssh_public_key.strip()] if key],
        "kubernetes_version": version,
        "kubernetes_minor": minor,
        "api_endpoint": f"{cluster.api_hostname}:443",
        "master_count": cluster.master_count,
        "first_zone": (cluster.availability_zones or [""])[0],
    }


def quoted(context: dict[str, Any]) -> dict[str, Any]:
    """The template context with every value JSON-encoded, ready to drop into YAML as is."""
    result: dict[str, Any] = {"raw": context}
    for key, value in context.items():
        if key == "files":  # each file is one scalar of its own
            result[key] = {name: json.dumps(text) for name, text in value.items()}
        else:
            result[key] = json.dumps(value)
    return result


def identity_provider(cluster: Cluster) -> IdentityProvider | None:
    return IdentityProvider.objects.filter(organization_id=cluster.organization_id).first()


def oidc_flags(cluster: Cluster) -> dict[str, str]:
    """The kube-apiserver's OIDC flags from the organization's identity provider ({} without)."""
    provider = identity_provider(cluster)
    if provider is None:
        return {}
    return {
        "oidc-issuer-url": provider.issuer,
        "oidc-client-id": provider.client_id,
        "oidc-username-claim": USERNAME_CLAIM,
        "oidc-groups-claim": provider.groups_claim or "groups",
    }


def derived_secret(cluster: Cluster, purpose: str) -> bytes:
    created = cluster.created_at.isoformat() if cluster.created_at else ""
    message = f"{purpose}|{cluster.id}|{created}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()


def bootstrap_token(cluster: Cluster) -> str:
    """A kubeadm bootstrap token (`[a-z0-9]{6}.[a-z0-9]{16}`) stable for the cluster."""
    digest = derived_secret(cluster, "kubeadm-bootstrap-token")
    chars = "".join(TOKEN_ALPHABET[byte % len(TOKEN_ALPHABET)] for byte in digest[:22])
    return f"{chars[:6]}.{chars[6:22]}"


def certificate_key(cluster: Cluster) -> str:
    """The key kubeadm encrypts uploaded control-plane certificates with (64 hex digits)."""
    return derived_secret(cluster, "kubeadm-certificate-key").hex()


def ca_cert_hash(ca_pem: str) -> str:
    """kubeadm's discovery hash: SHA-256 of the CA's DER SubjectPublicKeyInfo."""
    certificate = x509.load_pem_x509_certificate(ca_pem.encode())
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"sha256:{hashlib.sha256(spki).hexdigest()}"


def kubeadm_api_version(version: str) -> str:
    # v1beta4 (extraArgs as name/value lists) arrived with Kubernetes 1.31; older use v1beta3.
    major, minor = (int(part) for part in version.split(".")[:2])
    return "kubeadm.k8s.io/v1beta4" if (major, minor) >= (1, 31) else "kubeadm.k8s.io/v1beta3"


def kubeadm_context(cluster: Cluster) -> dict[str, Any]:
    version = cluster.release.version
    api_version = kubeadm_api_version(version)
    flags = oidc_flags(cluster)
    return {
        "api_version": api_version,
        "v1beta4": api_version.endswith("v1beta4"),
        "cluster_id": cluster.id,
        "kubernetes_version": f"v{version}",
        "api_endpoint": f"{cluster.api_hostname}:443",
        "api_hostname": cluster.api_hostname,
        "api_server_port": API_SERVER_PORT,
        "pod_subnet": POD_SUBNET,
        "service_subnet": SERVICE_SUBNET,
        "token": bootstrap_token(cluster),
        "certificate_key": certificate_key(cluster),
        "ca_cert_hash": ca_cert_hash(ensure_cluster_ca(cluster)),
        # v1beta4 takes a list of {name, value}; v1beta3 a mapping.
        "api_server_args": (
            [{"name": name, "value": value} for name, value in flags.items()]
            if api_version.endswith("v1beta4") else flags
        ),
        "has_identity_provider": bool(flags),
    }


def render_file(name: str, context: dict[str, Any]) -> str:
    return render_to_string(f"{TEMPLATE_DIR}/{name}", quoted(context))


def master_files(cluster: Cluster, context: dict[str, Any]) -> dict[str, str]:
    kubeadm = kubeadm_context(cluster)
    script_context = {
        **context,
        **kubeadm,
        "calico_manifest": CALICO_MANIFEST,
        "ingress_manifest": INGRESS_NGINX_MANIFEST,
        "ingress_http_node_port": INGRESS_HTTP_NODE_PORT,
        "ingress_https_node_port": INGRESS_HTTPS_NODE_PORT,
    }
    return {
        "node_prep": render_file("node-prep.sh", context),
        "kubeadm_init": render_file("kubeadm-init.yaml", kubeadm),
        "kubeadm_join": render_file(
            "kubeadm-join.yaml", {**kubeadm, "control_plane": True, "kubelet_args": None}
        ),
        "bootstrap": render_file("master-bootstrap.sh", script_context),
        "ca_certificate": cluster.ca_certificate,
        "ca_private_key": cluster.ca_private_key,
    }


def worker_files(cluster: Cluster, context: dict[str, Any], pool: NodePool) -> dict[str, str]:
    kubeadm = kubeadm_context(cluster)
    labels = {"node-labels": f"{POOL_LABEL}={pool.name}"}
    kubelet_args = (
        [{"name": name, "value": value} for name, value in labels.items()]
        if kubeadm["v1beta4"] else labels
    )
    join = {**kubeadm, "control_plane": False, "kubelet_args": kubelet_args}
    return {
        "node_prep": render_file("node-prep.sh", context),
        "kubeadm_join": render_file("kubeadm-join.yaml", join),
    }
