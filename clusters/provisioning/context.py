"""What every step gets: the cluster, its AWS clients (the organization's role when it has one),
its tags and names, and the ledger helpers bound to the step that runs."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3

from clusters import catalog
from clusters.models import Cluster, ResourceRecord
from clusters.provisioning import aws, ledger


@dataclass
class StepContext:
    cluster: Cluster
    step: str = ""
    _clients: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def session(self) -> boto3.Session | None:
        """The organization's assumed role, or None for the operator's (cached) clients."""
        if not self.cluster.organization.aws_role_arn:
            return None
        return aws.session_for(self.cluster.organization)

    def client(self, service: str) -> Any:  # noqa: ANN401 - boto3 clients are untyped
        if service not in self._clients:
            self._clients[service] = aws.aws_client(
                service, self.cluster.region, session=self.session
            )
        return self._clients[service]

    # --- names and tags ---------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.cluster.id

    def name(self, suffix: str) -> str:
        """The Name tag (and AWS name where one is needed): `<cluster id>-<suffix>`."""
        return f"{self.cluster.id}-{suffix}"

    def tags(self, name: str | None = None, *, kubernetes: bool = False) -> dict[str, str]:
        tags = aws.cluster_tags(
            self.cluster.id, self.cluster.organization.slug, kubernetes=kubernetes
        )
        if name:
            tags["Name"] = name
        return tags

    def tag_specifications(self, *types: str, name: str, kubernetes: bool = True) -> list[dict]:
        tag_list = aws.as_tag_list(self.tags(name, kubernetes=kubernetes))
        return [{"ResourceType": kind, "Tags": tag_list} for kind in types]

    def cluster_filter(self, name: str | None = None) -> list[dict]:
        filters = [{"Name": f"tag:{aws.TAG_CLUSTER}", "Values": [self.cluster.id]}]
        if name:
            filters.append({"Name": "tag:Name", "Values": [name]})
        return filters

    def token(self, key: str) -> str:
        """An idempotency token (ClientToken, CallerReference) stable for this cluster and key."""
        created = self.cluster.created_at.isoformat() if self.cluster.created_at else ""
        digest = hashlib.sha256(f"{self.cluster.id}|{created}|{key}".encode()).hexdigest()
        return f"{self.cluster.id}-{digest[:40]}"

    # --- the ledger, bound to this step ---------------------------------------------------------

    def recorded(self, key: str) -> ResourceRecord | None:
        return ledger.find(self.cluster, key)

    def record(self, key: str, kind: str, aws_id: str, **data: Any) -> ResourceRecord:
        return ledger.record(self.cluster, key, kind, aws_id, step=self.step, **data)

    # --- catalog facts the steps need -------------------------------------------------------

    @property
    def image_id(self) -> str:
        from clusters.provisioning.errors import ProvisioningFailed

        image = catalog.node_image(self.cluster.release, self.cluster.region)
        if not image:
            raise ProvisioningFailed(
                f"Kubernetes {self.cluster.release.version} has no node image for region "
                f"{self.cluster.region}. Ask the operators to add one, then retry."
            )
        return image

    @property
    def azs(self) -> list[str]:
        return list(self.cluster.availability_zones)


def encode_user_data(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
