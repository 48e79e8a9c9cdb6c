import pytest
from click.testing import CliRunner

from accounts.tokens import create_token
from cli.main import cli


@pytest.fixture(autouse=True)
def cli_home(tmp_path, monkeypatch):
    """Each test gets its own HOME: config file and kubeconfig land there."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("XDG_CONFIG_HOME", "KUBECONFIG", "HAPPA_URL", "HAPPA_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def happa(transactional_db, live_server):
    """Run `happa ARGS…` in-process against the live server; returns click's Result."""

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, [str(arg) for arg in args], input=input)

    run.url = live_server.url
    return run


@pytest.fixture
def logged_in(happa, member, organization):
    """`happa login` done as the acme member."""
    secret = create_token(member, organization, name="cli").secret
    result = happa("login", "--url", happa.url, "--token", secret)
    assert result.exit_code == 0, result.output
    return happa


@pytest.fixture
def logged_in_viewer(happa, viewer, organization):
    secret = create_token(viewer, organization, name="cli").secret
    assert happa("login", "--url", happa.url, "--token", secret).exit_code == 0
    return happa
