"""Pytest fixtures that run the test IdP (tests/idp/) as a separate process, and drive a sign-in.

Loaded as a plugin by tests/conftest.py (`pytest_plugins`), so every module shares one IdP: it is
started once per session on a free loopback port, waited for with a timeout and always stopped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

from tests.embedded_services import free_port

# pytest-django's live server listens on "localhost" unless told otherwise; tests talk to
# 127.0.0.1 only (and redirect URIs must match it exactly).
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
HTTP_TIMEOUT = 10.0

ORG_CLIENT_ID = "happa-acme"
ORG_CLIENT_SECRET = "acme-client-secret-for-tests"
STAFF_CLIENT_ID = "happa-ops"
STAFF_CLIENT_SECRET = "ops-client-secret-for-tests"
# Organizations whose callback URLs the org client accepts (conftest's organization is "acme").
ORG_SLUGS = ("acme", "globex")


@dataclass(frozen=True)
class IdpUser:
    username: str
    password: str
    claims: dict = field(default_factory=dict)

    @property
    def email(self) -> str:
        return self.claims["email"]


IDP_USERS = {
    "admin": IdpUser(
        "alice",
        "alice-password-1",
        {"email": "alice@acme.test", "email_verified": True, "name": "Alice Admin",
         "groups": ["platform-admins", "everyone"]},
    ),
    "plain": IdpUser(
        "bob",
        "bob-password-1",
        {"email": "bob@acme.test", "email_verified": True, "name": "Bob", "groups": ["everyone"]},
    ),
    "outside_domain": IdpUser(
        "eve",
        "eve-password-1",
        {"email": "eve@elsewhere.test", "email_verified": True, "name": "Eve",
         "groups": ["everyone"]},
    ),
    "unverified": IdpUser(
        "uma",
        "uma-password-1",
        {"email": "uma@acme.test", "email_verified": False, "name": "Uma", "groups": []},
    ),
    "ops": IdpUser(
        "olga",
        "olga-password-1",
        {"email": "olga@operator.test", "email_verified": True, "name": "Olga Ops",
         "groups": ["happa-ops"]},
    ),
    "ops_admin": IdpUser(
        "oscar",
        "oscar-password-1",
        {"email": "oscar@operator.test", "email_verified": True, "name": "Oscar",
         "groups": ["happa-ops", "happa-admins"]},
    ),
}


@dataclass(frozen=True)
class OidcProvider:
    """The running test IdP."""

    base_url: str

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/o"

    def endpoint(self, name: str) -> str:
        return {
            "authorization": f"{self.issuer}/authorize/",
            "token": f"{self.issuer}/token/",
            "userinfo": f"{self.issuer}/userinfo/",
            "jwks": f"{self.issuer}/.well-known/jwks.json",
        }[name]


def _wait_for_discovery(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the test IdP exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the test IdP did not answer {url} within {START_TIMEOUT} s")


@pytest.fixture(scope="session")
def oidc_provider(live_server) -> Iterator[OidcProvider]:  # noqa: ANN001
    """A real OpenID Provider on a free loopback port, knowing Happa's live server callbacks."""
    data_dir = Path(tempfile.mkdtemp(prefix="happa-test-idp-"))
    seed = {
        "users": [
            {"username": u.username, "password": u.password, "claims": u.claims}
            for u in IDP_USERS.values()
        ],
        "clients": [
            {
                "client_id": ORG_CLIENT_ID,
                "client_secret": ORG_CLIENT_SECRET,
                "redirect_uris": [
                    f"{live_server.url}/accounts/oidc/org-{slug}/login/callback/"
                    for slug in ORG_SLUGS
                ],
            },
            {
                "client_id": STAFF_CLIENT_ID,
                "client_secret": STAFF_CLIENT_SECRET,
                "redirect_uris": [f"{live_server.url}/ops/oidc/callback/"],
            },
        ],
    }
    seed_file = data_dir / "seed.json"
    seed_file.write_text(json.dumps(seed))
    port = free_port()
    log = data_dir / "idp.log"
    env = {**os.environ, "IDP_DATA_DIR": str(data_dir), "IDP_SEED": str(seed_file)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with log.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "tests.idp.serve", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        provider = OidcProvider(base_url=f"http://127.0.0.1:{port}")
        _wait_for_discovery(f"{provider.issuer}/.well-known/openid-configuration", process, log)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


# --- Driving a sign-in without a browser -------------------------------------------------------


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def with_query_param(url: str, name: str, value: str | None) -> str:
    """The URL with one query parameter replaced (or removed when value is None)."""
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    if value is None:
        query.pop(name, None)
    else:
        query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def query_param(url: str, name: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else None


def absolute(base: str, location: str) -> str:
    if location.startswith("http"):
        return location
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}{location}"


@dataclass
class SignInTrip:
    """What happened on the way: the URLs we were sent to, and the final page."""

    authorize_url: str = ""
    callback_url: str = ""
    final: requests.Response | None = None


def log_in_at_idp(client: requests.Session, authorize_url: str, user: IdpUser) -> str:
    """Follow the IdP's authorize URL through its login form; returns where it sends us back."""
    response = client.get(authorize_url, allow_redirects=False, timeout=HTTP_TIMEOUT)
    if response.status_code == 302 and "/login/" in response.headers["Location"]:
        login_url = absolute(authorize_url, response.headers["Location"])
        form = client.get(login_url, timeout=HTTP_TIMEOUT)
        response = client.post(
            login_url.split("?")[0],
            data={
                "csrfmiddlewaretoken": csrf_token(form.text),
                "username": user.username,
                "password": user.password,
                "next": query_param(login_url, "next") or "",
            },
            allow_redirects=False,
            timeout=HTTP_TIMEOUT,
        )
        assert response.status_code == 302, f"IdP login failed: {response.status_code}"
        response = client.get(
            absolute(authorize_url, response.headers["Location"]),
            allow_redirects=False,
            timeout=HTTP_TIMEOUT,
        )
    assert response.status_code == 302, f"IdP authorize answered {response.status_code}"
    return response.headers["Location"]


def sign_in_through_org_idp(
    client: requests.Session,
    site_url: str,
    provider_id: str,
    user: IdpUser,
    *,
    change_authorize_url: Callable[[str], str] | None = None,
    change_callback_url: Callable[[str], str] | None = None,
) -> SignInTrip:
    """Login page → "Sign in with …" button → IdP authorize and login → Happa's callback."""
    trip = SignInTrip()
    login_page = client.get(f"{site_url}/accounts/login/", timeout=HTTP_TIMEOUT)
    assert login_page.status_code == 200
    action = f"/accounts/oidc/{provider_id}/login/"
    assert f'action="{action}"' in login_page.text, "no sign-in button for this provider"
    response = client.post(
        f"{site_url}{action}",
        data={"csrfmiddlewaretoken": csrf_token(login_page.text), "process": "login"},
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 302, f"login button answered {response.status_code}"
    location = absolute(site_url, response.headers["Location"])
    if location.startswith(site_url):
        # Happa refused to start (for example: the IdP is down); show where it sent us.
        trip.final = client.get(location, timeout=HTTP_TIMEOUT)
        return trip
    return finish_at_idp(client, trip, location, user, change_authorize_url, change_callback_url)


def finish_at_idp(
    client: requests.Session,
    trip: SignInTrip,
    authorize_url: str,
    user: IdpUser,
    change_authorize_url: Callable[[str], str] | None = None,
    change_callback_url: Callable[[str], str] | None = None,
) -> SignInTrip:
    trip.authorize_url = change_authorize_url(authorize_url) if change_authorize_url else (
        authorize_url
    )
    callback = log_in_at_idp(client, trip.authorize_url, user)
    trip.callback_url = change_callback_url(callback) if change_callback_url else callback
    trip.final = client.get(trip.callback_url, timeout=HTTP_TIMEOUT)
    return trip


def sign_in_with_password(
    client: requests.Session, site_url: str, email: str, password: str
) -> requests.Response:
    page = client.get(f"{site_url}/accounts/login/", timeout=HTTP_TIMEOUT)
    response = client.post(
        f"{site_url}/accounts/login/",
        data={"csrfmiddlewaretoken": csrf_token(page.text), "login": email, "password": password},
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 302, "password sign-in failed"
    return response


def connect_org_idp(
    client: requests.Session, site_url: str, provider_id: str, user: IdpUser
) -> SignInTrip:
    """Signed in already: link the org's IdP from the third-party accounts page."""
    page = client.get(f"{site_url}/accounts/3rdparty/", timeout=HTTP_TIMEOUT)
    assert page.status_code == 200
    response = client.post(
        f"{site_url}/accounts/oidc/{provider_id}/login/",
        data={"csrfmiddlewaretoken": csrf_token(page.text), "process": "connect"},
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 302, f"connect answered {response.status_code}"
    return finish_at_idp(client, SignInTrip(), response.headers["Location"], user)


# --- A loopback HTTP receiver answering discovery requests badly, on purpose -------------------


class _DiscoveryHandler(BaseHTTPRequestHandler):
    """Paths: /not-json/… answers HTML, /other-issuer/… claims another issuer, others 404."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        host = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path.startswith("/not-json/"):
            self._answer(200, "text/html", b"<html><body>Welcome to our intranet</body></html>")
        elif self.path.startswith("/other-issuer/"):
            body = json.dumps(
                {
                    "issuer": "https://login.other.example",
                    "authorization_endpoint": f"{host}/authorize",
                    "token_endpoint": f"{host}/token",
                    "jwks_uri": f"{host}/jwks",
                }
            ).encode()
            self._answer(200, "application/json", body)
        else:
            self._answer(404, "text/plain", b"not found")

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def bad_discovery_server() -> Iterator[str]:
    """Base URL of a loopback server whose discovery documents are wrong in known ways."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DiscoveryHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
