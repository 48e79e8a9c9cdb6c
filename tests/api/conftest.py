import pytest
from django.test import Client

from accounts.tokens import create_token


class ApiClient:
    """Django's test client with a bearer token, speaking JSON to /api/v1/."""

    def __init__(self, secret: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def _call(self, method: str, path: str, data=None, headers=None, **params):
        url = "/api/v1" + path
        merged = {**self.headers, **(headers or {})}
        if method in ("get", "delete"):
            return getattr(self.client, method)(url, params or None, headers=merged)
        return getattr(self.client, method)(
            url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""),
            data if data is not None else {},
            content_type="application/json",
            headers=merged,
        )

    def get(self, path, **params):
        return self._call("get", path, **params)

    def post(self, path, data=None, headers=None, **params):
        return self._call("post", path, data, headers, **params)

    def patch(self, path, data=None, headers=None):
        return self._call("patch", path, data, headers)

    def delete(self, path, headers=None):
        return self._call("delete", path, headers=headers)


def api_client_for(user, organization, role=None) -> ApiClient:
    issued = create_token(user, organization, name="test", role=role)
    return ApiClient(issued.secret)


@pytest.fixture
def member_api(member, organization):
    return api_client_for(member, organization)


@pytest.fixture
def viewer_api(viewer, organization):
    return api_client_for(viewer, organization)


@pytest.fixture
def outsider_api(outsider, other_organization):
    return api_client_for(outsider, other_organization)


@pytest.fixture
def anonymous_api():
    return ApiClient(None)
