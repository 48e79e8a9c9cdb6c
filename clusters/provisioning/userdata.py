"""Cloud-init user-data for bastions, masters (kubeadm init, OIDC flags, Calico, ingress) and
workers (kubeadm join), rendered from templates under templates/clusters/userdata/.

Minimal interim version from the engine branch so provisioning runs end to end; the catalog
helper's templated version replaces it (take theirs on merge).
"""

from __future__ import annotations

import yaml

from clusters.models import Cluster, NodePool


def render_user_data(cluster: Cluster, role: str, pool: NodePool | None = None) -> str:
    """User-data for one node role: "bastion", "master" or "worker" (with its pool)."""
    if role not in ("bastion", "master", "worker"):
        raise ValueError(f"unknown node role {role!r}")
    commands: list[str] = []
    if role == "master":
        commands = [
            f"kubeadm init --control-plane-endpoint {cluster.api_hostname}:443 "
            f"--kubernetes-version v{cluster.release.version} --upload-certs",
        ]
    elif role == "worker":
        commands = [f"kubeadm join {cluster.api_hostname}:443 --discovery-token-unsafe-skip-ca-verification"]
    document = {
        "hostname": f"{cluster.id}-{role}" + (f"-{pool.name}" if pool else ""),
        "runcmd": commands,
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False)
