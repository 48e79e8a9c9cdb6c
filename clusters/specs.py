"""What a user asks for, before it is validated: the shapes shared by forms, API and commands."""

from __future__ import annotations

from dataclasses import dataclass, field


class InvalidRequest(Exception):
    """A request the rules refuse. `fields` maps a field name ("" for the whole) to messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{k or 'request'}: {' '.join(v)}" for k, v in fields.items()))


@dataclass
class NodePoolSpec:
    name: str = "default"
    instance_type: str = "m5.xlarge"
    min_size: int = 3
    max_size: int = 3
    desired_size: int | None = None  # None: min_size


@dataclass
class ClusterSpec:
    name: str
    region: str = "eu-central-1"
    availability_zone_count: int = 2
    kubernetes_version: str | None = None  # None: the default release
    master_count: int = 1
    node_pools: list[NodePoolSpec] = field(default_factory=lambda: [NodePoolSpec()])
