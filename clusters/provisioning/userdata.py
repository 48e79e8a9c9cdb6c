"""Cloud-init user-data for bastions, masters (kubeadm init, OIDC flags, Calico, ingress) and
workers (kubeadm join), rendered from templates under templates/clusters/userdata/."""

from __future__ import annotations

from clusters.models import Cluster, NodePool


def render_user_data(cluster: Cluster, role: str, pool: NodePool | None = None) -> str:
    """User-data for one node role: "bastion", "master" or "worker" (with its pool)."""
    raise NotImplementedError("lands with the node boot configuration")
