"""IdP access tokens: a loopback stand-in serves discovery and the JWKS; tokens are signed here."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import cache

from accounts.models import IdentityProvider
from tests.api.conftest import ApiClient

KID = "test-key-1"


class Provider:
    """An OpenID Provider's public side on 127.0.0.1: discovery and its key set."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                if self.path.endswith("/.well-known/openid-configuration"):
                    body = {"issuer": provider.issuer, "jwks_uri": provider.issuer + "/jwks"}
                elif self.path.endswith("/jwks"):
                    body = {"keys": [jwk]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}/realms/acme"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def token(self, key=None, algorithm="RS256", **overrides) -> str:
        claims = {
            "iss": self.issuer,
            "sub": "user-1",
            "aud": "happa-acme",
            "email": "member@acme.test",
            "exp": int(time.time()) + 300,
            "iat": int(time.time()),
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key or self.key, algorithm=algorithm, headers={"kid": KID})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def provider(organization):
    stand_in = Provider()
    IdentityProvider.objects.create(
        organization=organization, name="Acme SSO", issuer=stand_in.issuer,
        client_id="happa-acme", client_secret="s3cret",  # noqa: S106
    )
    yield stand_in
    stand_in.stop()
    cache.delete(f"oidc-discovery:{stand_in.issuer}")


@pytest.mark.django_db
def test_an_idp_access_token_acts_as_the_member(provider, member, organization):
    response = ApiClient(provider.token()).get("/organizations")

    assert response.status_code == 200
    assert response.json()["items"][0]["slug"] == "acme"
    assert response.json()["items"][0]["role"] == "member"


@pytest.mark.django_db
def test_a_token_for_a_viewer_cannot_change_anything(provider, viewer, organization):
    response = ApiClient(provider.token(email="viewer@acme.test")).post("/clusters", {"name": "x"})

    assert response.status_code == 403


@pytest.mark.django_db
def test_a_token_signed_by_another_key_is_refused(provider, member):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    assert ApiClient(provider.token(key=stranger)).get("/clusters").status_code == 401


@pytest.mark.django_db
def test_an_expired_token_is_refused(provider, member):
    token = provider.token(exp=int(time.time()) - 3600)

    assert ApiClient(token).get("/clusters").status_code == 401


@pytest.mark.django_db
def test_a_token_for_another_client_is_refused(provider, member):
    assert ApiClient(provider.token(aud="someone-else")).get("/clusters").status_code == 401


@pytest.mark.django_db
def test_a_token_signed_with_a_shared_secret_is_refused(provider, member):
    token = provider.token(key="happa-acme-shared-secret-long-enough-32b", algorithm="HS256")

    assert ApiClient(token).get("/clusters").status_code == 401


@pytest.mark.django_db
def test_a_person_who_is_not_a_member_is_refused(provider, outsider):
    token = provider.token(email="owner@globex.test")

    assert ApiClient(token).get("/clusters").status_code == 401


@pytest.mark.django_db
def test_a_token_from_an_unknown_issuer_is_refused(provider, member):
    token = provider.token(iss="http://127.0.0.1:9/unknown")

    assert ApiClient(token).get("/clusters").status_code == 401
