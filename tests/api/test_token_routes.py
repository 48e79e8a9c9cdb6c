import pytest

from accounts.models import ApiToken, AuditLogEntry
from accounts.tokens import create_token, verify_token
from tests.api.conftest import ApiClient, api_client_for

pytestmark = pytest.mark.django_db


def test_a_member_makes_a_token_whose_secret_is_shown_once(member_api, member):
    response = member_api.post("/tokens", {"name": "ci", "expires_days": 30})

    assert response.status_code == 201
    secret = response.json()["token"]
    token, _ = verify_token(secret)
    assert token.user == member
    assert token.role == "member"
    assert "token" not in member_api.get("/tokens").json()["items"][0]
    assert AuditLogEntry.objects.filter(action="api_token.created").count() == 1


def test_a_viewer_cannot_make_a_token_above_viewer(viewer_api):
    response = viewer_api.post("/tokens", {"name": "ci", "role": "member"})

    assert response.status_code == 403
    assert ApiToken.objects.filter(name="ci").count() == 0


def test_a_viewer_token_of_a_member_cannot_make_a_member_token(member, organization):
    api = api_client_for(member, organization, role="viewer")

    assert api.post("/tokens", {"name": "escalate", "role": "member"}).status_code == 403


def test_a_revoked_token_stops_working_at_once(member_api, member, organization):
    other = create_token(member, organization, name="laptop")

    response = member_api.delete(f"/tokens/{other.token.id}")

    assert response.status_code == 200
    assert ApiClient(other.secret).get("/clusters").status_code == 401
    assert member_api.delete(f"/tokens/{other.token.id}").status_code == 409


def test_members_see_only_their_own_tokens(member_api, owner, organization):
    create_token(owner, organization, name="owners")

    names = [t["name"] for t in member_api.get("/tokens").json()["items"]]

    assert names == ["test"]


def test_a_member_cannot_revoke_someone_elses_token(member_api, owner, organization):
    theirs = create_token(owner, organization, name="owners")

    assert member_api.delete(f"/tokens/{theirs.token.id}").status_code == 404
    assert verify_token(theirs.secret) is not None


def test_an_owner_revokes_a_members_token(member, owner, organization):
    mine = create_token(member, organization, name="laptop")
    owner_api = api_client_for(owner, organization)

    assert owner_api.delete(f"/tokens/{mine.token.id}").status_code == 200
    assert verify_token(mine.secret) is None
