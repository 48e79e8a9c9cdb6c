"""PostgreSQL cannot hold NUL in text: requests carrying one are refused up front (400, or the
API's 422), never a 500."""

import pytest

from accounts.tokens import create_token


@pytest.fixture
def token(owner, organization):
    return create_token(owner, organization, name="test").secret


def test_an_api_body_with_a_nul_character_is_a_422_in_the_error_shape(client, token):
    response = client.post(
        "/api/v1/clusters",
        data='{"name": "bad\\u0000name"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"


def test_an_api_query_with_a_nul_character_is_a_422(client, token):
    response = client.get(
        "/api/v1/clusters?name=bad%00name", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422


def test_a_page_path_with_a_nul_character_is_a_400(client, owner):
    client.force_login(owner)
    assert client.get("/clusters/ab%00cd/").status_code == 400


def test_ordinary_requests_pass(client, owner):
    client.force_login(owner)
    assert client.get("/clusters/?q=prod").status_code == 200
