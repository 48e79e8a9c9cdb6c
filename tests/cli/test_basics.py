"""The CLI against a live server on loopback: login, reading, exit codes, help."""

import json
import stat
import subprocess
import sys
import threading

import click
import pytest
import yaml

from accounts.tokens import create_token
from cli.main import cli
from clusters.events import record_event
from clusters.models import InstanceType
from tests.factories import ClusterFactory, NodePoolFactory


def test_login_saves_the_url_and_token_readable_by_the_owner_only(happa, member, cli_home,
                                                                  organization):
    secret = create_token(member, organization, name="cli").secret

    result = happa("login", "--url", happa.url, "--token", secret)

    assert result.exit_code == 0, result.output
    assert "member of acme" in result.output
    path = cli_home / ".config" / "happa" / "config.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert yaml.safe_load(path.read_text()) == {"url": happa.url, "token": secret}


def test_login_with_a_wrong_token_exits_4_and_saves_nothing(happa, cli_home, organization):
    result = happa("login", "--url", happa.url, "--token", "happa_00000000_nope")

    assert result.exit_code == 4
    assert "refused" in result.output
    assert not (cli_home / ".config" / "happa" / "config.yaml").exists()


def test_without_login_commands_exit_4(happa):
    result = happa("clusters", "list")

    assert result.exit_code == 4
    assert "happa login" in result.output


def test_happa_url_and_token_in_the_environment_replace_login(
    happa, member, organization, monkeypatch
):
    ClusterFactory(organization=organization, name="prod")
    monkeypatch.setenv("HAPPA_URL", happa.url)
    monkeypatch.setenv("HAPPA_TOKEN", create_token(member, organization, name="env").secret)

    result = happa("clusters", "list", "--output", "json")

    assert result.exit_code == 0, result.output
    assert [c["name"] for c in json.loads(result.output)] == ["prod"]


def test_clusters_list_shows_only_the_organizations_clusters(
    logged_in, organization, other_organization
):
    ClusterFactory(organization=organization, name="prod")
    ClusterFactory(organization=other_organization, name="theirs")

    result = logged_in("clusters", "list")

    assert result.exit_code == 0, result.output
    assert "prod" in result.output
    assert "theirs" not in result.output


def test_clusters_show_finds_a_cluster_by_name_and_prints_yaml(logged_in, organization):
    cluster = ClusterFactory(organization=organization, name="prod")
    NodePoolFactory(cluster=cluster, name="workers")

    result = logged_in("clusters", "show", "prod", "--output", "yaml")

    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.output)
    assert shown["id"] == cluster.id
    assert shown["node_pools"][0]["name"] == "workers"


def test_clusters_show_as_a_table_names_the_api_endpoint(logged_in, organization):
    cluster = ClusterFactory(organization=organization, name="prod")

    result = logged_in("clusters", "show", cluster.id)

    assert result.exit_code == 0, result.output
    assert f"https://api.{cluster.id}.k8s.happa.test" in result.output


def test_an_unknown_cluster_exits_3(logged_in, other_organization):
    theirs = ClusterFactory(organization=other_organization, name="theirs")

    assert logged_in("clusters", "show", "nope").exit_code == 3
    assert logged_in("clusters", "show", theirs.id).exit_code == 3


def test_a_viewer_cannot_delete_and_exits_4(logged_in_viewer, organization):
    cluster = ClusterFactory(organization=organization, name="prod")

    result = logged_in_viewer("clusters", "delete", "prod", "--yes")

    assert result.exit_code == 4
    assert "viewer" in result.output
    cluster.refresh_from_db()
    assert cluster.status == "pending"


def test_a_usage_error_exits_2(logged_in):
    result = logged_in("clusters", "scale", "prod", "--min", "3")

    assert result.exit_code == 2
    assert "--max" in result.output


def test_instance_types_lists_the_regions_types(logged_in):
    InstanceType.objects.create(
        name="m5.xlarge", vcpus=4, memory_mib=16384, regions=["eu-central-1"],
        hourly_price_usd="0.2300", is_recommended=True,
    )
    InstanceType.objects.create(name="c7g.large", vcpus=2, memory_mib=4096, regions=["us-east-1"])

    result = logged_in("instance-types", "--region", "eu-central-1", "--output", "json")

    assert result.exit_code == 0, result.output
    assert [t["name"] for t in json.loads(result.output)] == ["m5.xlarge"]


def test_events_prints_the_clusters_events(logged_in, organization):
    cluster = ClusterFactory(organization=organization, name="prod")
    record_event(cluster, "VPC created", step="network")
    record_event(cluster, "NAT gateway available", step="network")

    result = logged_in("events", "prod")

    assert result.exit_code == 0, result.output
    assert result.output.index("VPC created") < result.output.index("NAT gateway available")


def test_events_follow_prints_events_as_they_happen(logged_in, organization):
    cluster = ClusterFactory(organization=organization, name="prod")
    record_event(cluster, "before following")
    later = threading.Timer(0.5, lambda: record_event(cluster, "while following"))
    later.start()

    try:
        result = logged_in(
            "events", "prod", "--follow", "--interval", "0.2", "--timeout", "2.5"
        )
    finally:
        later.cancel()

    assert result.exit_code == 0, result.output
    assert "before following" in result.output
    assert "while following" in result.output


def every_command(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from every_command(command, (*prefix, name))


@pytest.mark.parametrize("command", [(), *every_command(cli)], ids=" ".join)
def test_every_command_has_help(command):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, [*command, "--help"])

    assert result.exit_code == 0
    assert "Usage: " in result.output


def test_the_cli_imports_nothing_of_the_site():
    code = (
        "import sys, cli.main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'accounts', 'clusters', 'api', 'monitoring', 'happa'}))"
    )
    out = subprocess.run(  # noqa: S603 (fixed arguments)
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )

    assert out.stdout.strip() == "[]"


def test_python_m_cli_runs_the_command():
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "cli", "--version"], capture_output=True, text=True, timeout=60
    )

    assert out.returncode == 0
    assert "happa" in out.stdout


def test_alerts_lists_firing_alerts_and_ack_acknowledges(logged_in, organization, member):
    from monitoring.alerts import fire_alert
    from monitoring.models import Alert

    cluster = ClusterFactory(organization=organization, name="prod", status="running")
    alert, _ = fire_alert(cluster, fingerprint="api-down", summary="API server down")

    listed = logged_in("alerts", "--output", "json")
    acked = logged_in("alerts", "ack", str(alert.id))

    assert listed.exit_code == 0, listed.output
    assert [a["summary"] for a in json.loads(listed.output)] == ["API server down"]
    assert acked.exit_code == 0, acked.output
    assert Alert.objects.get(pk=alert.id).acknowledged_by == member


def test_tokens_create_prints_a_working_token_and_revoke_stops_it(logged_in):
    from accounts.tokens import verify_token

    created = logged_in("tokens", "create", "ci", "--role", "viewer", "--output", "json")
    made = json.loads(created.output)
    revoked = logged_in("tokens", "revoke", str(made["id"]))

    assert created.exit_code == 0, created.output
    assert revoked.exit_code == 0, revoked.output
    assert made["role"] == "viewer"
    assert verify_token(made["token"]) is None
