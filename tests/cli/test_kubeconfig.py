"""`happa kubeconfig`: merge into ~/.kube/config (or $KUBECONFIG) without touching other entries."""

import base64
import stat

import pytest
import yaml

from accounts.models import IdentityProvider
from tests.factories import ClusterFactory

OTHER = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "kind", "cluster": {"server": "https://127.0.0.1:6443"}}],
    "users": [{"name": "kind", "user": {"token": "abc"}}],
    "contexts": [{"name": "kind", "context": {"cluster": "kind", "user": "kind"}}],
    "current-context": "kind",
}


@pytest.fixture
def cluster(organization):
    IdentityProvider.objects.create(
        organization=organization, name="Acme SSO", issuer="https://sso.acme.test",
        client_id="happa-acme", client_secret="s3cret",  # noqa: S106
    )
    return ClusterFactory(organization=organization, name="prod", status="running")


def write_existing(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(OTHER))


def test_kubeconfig_merges_a_context_without_touching_other_entries(logged_in, cluster, cli_home):
    path = cli_home / ".kube" / "config"
    write_existing(path)

    result = logged_in("kubeconfig", "prod")

    assert result.exit_code == 0, result.output
    merged = yaml.safe_load(path.read_text())
    name = f"acme-{cluster.id}"
    assert [c["name"] for c in merged["clusters"]] == ["kind", name]
    assert [u["name"] for u in merged["users"]] == ["kind", name]
    assert [c["name"] for c in merged["contexts"]] == ["kind", name]
    assert merged["clusters"][0] == OTHER["clusters"][0]
    assert merged["users"][0] == OTHER["users"][0]
    assert merged["current-context"] == "kind"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_kubeconfig_switch_makes_the_cluster_current(logged_in, cluster, cli_home):
    path = cli_home / ".kube" / "config"
    write_existing(path)

    result = logged_in("kubeconfig", cluster.id, "--switch")

    assert result.exit_code == 0, result.output
    assert yaml.safe_load(path.read_text())["current-context"] == f"acme-{cluster.id}"


def test_getting_the_kubeconfig_twice_keeps_one_entry(logged_in, cluster, cli_home):
    logged_in("kubeconfig", "prod")
    logged_in("kubeconfig", "prod")

    merged = yaml.safe_load((cli_home / ".kube" / "config").read_text())
    assert len(merged["clusters"]) == len(merged["users"]) == len(merged["contexts"]) == 1
    assert merged["current-context"] == f"acme-{cluster.id}"


def test_kubeconfig_respects_the_kubeconfig_variable(logged_in, cluster, tmp_path, monkeypatch,
                                                     cli_home):
    target = tmp_path / "elsewhere" / "config"
    monkeypatch.setenv("KUBECONFIG", f"{target}:{tmp_path / 'second'}")

    assert logged_in("kubeconfig", "prod").exit_code == 0

    assert target.exists()
    assert not (cli_home / ".kube" / "config").exists()


def test_kubeconfig_to_a_file_has_every_field(logged_in, cluster, tmp_path):
    target = tmp_path / "prod.yaml"

    result = logged_in("kubeconfig", "prod", "-o", str(target))

    assert result.exit_code == 0, result.output
    config = yaml.safe_load(target.read_text())
    name = f"acme-{cluster.id}"
    cluster.refresh_from_db()
    assert config["current-context"] == name
    assert config["clusters"] == [
        {
            "name": name,
            "cluster": {
                "server": f"https://api.{cluster.id}.k8s.happa.test",
                "certificate-authority-data": base64.b64encode(
                    cluster.ca_certificate.encode()
                ).decode(),
            },
        }
    ]
    assert config["contexts"] == [{"name": name, "context": {"cluster": name, "user": name}}]
    exec_ = config["users"][0]["user"]["exec"]
    assert exec_["command"] == "kubectl"
    assert exec_["args"][:4] == [
        "oidc-login", "get-token", "--oidc-issuer-url=https://sso.acme.test",
        "--oidc-client-id=happa-acme",
    ]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_kubeconfig_without_an_identity_provider_explains_and_writes_nothing(
    logged_in, organization, cli_home
):
    ClusterFactory(organization=organization, name="prod")

    result = logged_in("kubeconfig", "prod")

    assert result.exit_code == 1
    assert "identity provider" in result.output
    assert not (cli_home / ".kube" / "config").exists()

