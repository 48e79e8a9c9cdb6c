import re
import subprocess

import pytest
import yaml

from accounts.models import IdentityProvider
from clusters.kubeconfig import ensure_cluster_ca
from clusters.provisioning.network import INGRESS_HTTP_NODE_PORT, INGRESS_HTTPS_NODE_PORT
from clusters.provisioning.userdata import ca_cert_hash, render_user_data
from tests.factories import ClusterFactory, KubernetesReleaseFactory, NodePoolFactory

pytestmark = pytest.mark.django_db

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhappatestkeyonly ops@acme.test"
EC2_USER_DATA_LIMIT = 16 * 1024


@pytest.fixture
def cluster(organization, settings):
    settings.HAPPA_BASE_DOMAIN = "k8s.example.com"
    organization.ssh_public_key = SSH_KEY
    organization.save()
    return ClusterFactory(id="x7k2p", organization=organization,
                          release=KubernetesReleaseFactory(version="1.31.4"))


@pytest.fixture
def pool(cluster):
    return NodePoolFactory(cluster=cluster, name="default")


@pytest.fixture
def identity_provider(organization):
    return IdentityProvider.objects.create(
        organization=organization, name="Okta", issuer="https://login.acme.test/oauth2",
        client_id="happa-kubernetes", client_secret="not-used-here", groups_claim="roles",
    )


def cloud_config(text: str) -> dict:
    assert text.startswith("#cloud-config\n")
    return yaml.safe_load(text)


def written_file(config: dict, path: str) -> str:
    return next(item["content"] for item in config["write_files"] if item["path"] == path)


def kubeadm_documents(config: dict, path: str) -> dict[str, dict]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(written_file(config, path))}


def render(cluster, role, pool=None) -> dict:
    return cloud_config(render_user_data(cluster, role, pool))


@pytest.mark.parametrize("role", ["bastion", "master", "worker"])
def test_user_data_of_every_role_passes_cloud_inits_own_schema_check(
    cluster, pool, identity_provider, role, tmp_path
):
    path = tmp_path / f"{role}.yaml"
    path.write_text(render_user_data(cluster, role, pool if role == "worker" else None))
    result = subprocess.run(  # noqa: S603 - fixed arguments, Debian's cloud-init
        ["/usr/bin/cloud-init", "schema", "--config-file", str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout


@pytest.mark.parametrize("role", ["bastion", "master", "worker"])
def test_user_data_fits_the_ec2_limit(cluster, pool, identity_provider, role):
    text = render_user_data(cluster, role, pool if role == "worker" else None)
    assert len(text.encode()) < EC2_USER_DATA_LIMIT


def test_bastions_accept_only_the_organizations_key(cluster):
    config = render(cluster, "bastion")
    assert config["ssh_authorized_keys"] == [SSH_KEY]
    assert config["ssh_pwauth"] is False
    assert config["disable_root"] is True
    sshd = written_file(config, "/etc/ssh/sshd_config.d/90-happa-hardening.conf")
    assert "PasswordAuthentication no" in sshd
    assert "PermitRootLogin no" in sshd


def test_without_an_ssh_key_the_bastion_says_nobody_can_log_in(cluster, organization):
    organization.ssh_public_key = ""
    organization.save()
    text = render_user_data(cluster, "bastion")
    assert "no SSH public key yet" in text
    assert cloud_config(text)["ssh_authorized_keys"] == []


def test_the_master_api_server_gets_the_organizations_oidc_settings(cluster, identity_provider):
    config = render(cluster, "master")
    documents = kubeadm_documents(config, "/etc/happa/kubeadm-init.yaml")
    arguments = {a["name"]: a["value"]
                 for a in documents["ClusterConfiguration"]["apiServer"]["extraArgs"]}
    assert arguments == {
        "oidc-issuer-url": "https://login.acme.test/oauth2",
        "oidc-client-id": "happa-kubernetes",
        "oidc-username-claim": "email",
        "oidc-groups-claim": "roles",
    }


def test_without_an_identity_provider_the_master_has_no_oidc_flags_and_says_why(cluster):
    text = render_user_data(cluster, "master")
    documents = kubeadm_documents(cloud_config(text), "/etc/happa/kubeadm-init.yaml")
    assert "extraArgs" not in documents["ClusterConfiguration"]["apiServer"]
    assert "# No OIDC flags: the organization has no identity provider configured" in text
    assert "oidc-" not in text


def test_the_master_initializes_the_cluster_behind_the_api_name(cluster, identity_provider):
    documents = kubeadm_documents(render(cluster, "master"), "/etc/happa/kubeadm-init.yaml")
    configuration = documents["ClusterConfiguration"]
    assert configuration["kubernetesVersion"] == "v1.31.4"
    assert configuration["controlPlaneEndpoint"] == "api.x7k2p.k8s.example.com:443"
    assert configuration["apiServer"]["certSANs"] == ["api.x7k2p.k8s.example.com"]
    assert configuration["networking"]["podSubnet"] == "192.168.0.0/16"
    assert documents["InitConfiguration"]["localAPIEndpoint"]["bindPort"] == 6443
    assert documents["KubeletConfiguration"]["cgroupDriver"] == "systemd"


def test_the_master_installs_calico_and_the_ingress_controller_on_the_load_balancers_ports(
    cluster,
):
    script = written_file(render(cluster, "master"), "/usr/local/sbin/happa-master-bootstrap")
    assert "kubeadm init --config /etc/happa/kubeadm-init.yaml" in script
    assert re.search(r"kubectl apply -f \S+projectcalico/calico/v[\d.]+/manifests/calico.yaml",
                     script)
    assert re.search(r"kubectl apply -f \S+ingress-nginx\S+deploy.yaml", script)
    assert f'"nodePort":{INGRESS_HTTP_NODE_PORT}' in script
    assert f'"nodePort":{INGRESS_HTTPS_NODE_PORT}' in script


def test_masters_get_the_clusters_ca_so_happa_kubeconfigs_trust_the_api(cluster):
    config = render(cluster, "master")
    cluster.refresh_from_db()
    assert written_file(config, "/etc/kubernetes/pki/ca.crt") == cluster.ca_certificate
    assert written_file(config, "/etc/kubernetes/pki/ca.key") == cluster.ca_private_key
    key_file = next(f for f in config["write_files"] if f["path"] == "/etc/kubernetes/pki/ca.key")
    assert key_file["permissions"] == "0600"


def test_workers_join_the_api_with_the_masters_bootstrap_token(cluster, pool):
    master = kubeadm_documents(render(cluster, "master"), "/etc/happa/kubeadm-init.yaml")
    worker_config = render(cluster, "worker", pool)
    join = kubeadm_documents(worker_config, "/etc/happa/kubeadm-join.yaml")["JoinConfiguration"]
    discovery = join["discovery"]["bootstrapToken"]
    assert discovery["apiServerEndpoint"] == "api.x7k2p.k8s.example.com:443"
    assert discovery["token"] == master["InitConfiguration"]["bootstrapTokens"][0]["token"]
    assert re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", discovery["token"])
    assert discovery["caCertHashes"] == [ca_cert_hash(ensure_cluster_ca(cluster))]
    assert "controlPlane" not in join
    assert ["kubeadm", "join", "--config", "/etc/happa/kubeadm-join.yaml"] in worker_config[
        "runcmd"
    ]


def test_workers_are_labelled_with_their_pool(cluster):
    batch = NodePoolFactory(cluster=cluster, name="batch")
    join = kubeadm_documents(render(cluster, "worker", batch),
                             "/etc/happa/kubeadm-join.yaml")["JoinConfiguration"]
    assert join["nodeRegistration"]["kubeletExtraArgs"] == [
        {"name": "node-labels", "value": "happa.io/node-pool=batch"}
    ]


def test_the_bootstrap_token_is_stable_for_a_cluster_and_differs_between_clusters(
    cluster, pool, organization
):
    def token(of_cluster, of_pool):
        join = kubeadm_documents(render(of_cluster, "worker", of_pool),
                                 "/etc/happa/kubeadm-join.yaml")["JoinConfiguration"]
        return join["discovery"]["bootstrapToken"]["token"]

    other = ClusterFactory(id="q1w2e", organization=organization)
    assert token(cluster, pool) == token(cluster, pool)
    assert token(cluster, pool) != token(other, NodePoolFactory(cluster=other))


def test_older_releases_get_the_v1beta3_kubeadm_format(cluster, identity_provider):
    cluster.release = KubernetesReleaseFactory(version="1.30.8", is_default=False)
    cluster.save()
    documents = kubeadm_documents(render(cluster, "master"), "/etc/happa/kubeadm-init.yaml")
    configuration = documents["ClusterConfiguration"]
    assert configuration["apiVersion"] == "kubeadm.k8s.io/v1beta3"
    assert configuration["apiServer"]["extraArgs"]["oidc-groups-claim"] == "roles"


def test_nodes_install_the_clusters_kubernetes_version(cluster, pool):
    script = written_file(render(cluster, "worker", pool), "/usr/local/sbin/happa-node-prep")
    assert "pkgs.k8s.io/core:/stable:/v1.31/deb/" in script
    assert "kubeadm=1.31.4-1.1" in script


def test_an_unknown_role_is_an_error(cluster):
    with pytest.raises(ValueError, match="unknown node role"):
        render_user_data(cluster, "etcd")


def test_the_schema_check_catches_a_broken_document(tmp_path):
    # Proves the check above can fail: cloud-init refuses a malformed runcmd.
    path = tmp_path / "broken.yaml"
    path.write_text("#cloud-config\nruncmd: 5\n")
    result = subprocess.run(  # noqa: S603 - fixed arguments, Debian's cloud-init
        ["/usr/bin/cloud-init", "schema", "--config-file", str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode != 0
