"""The organization switcher and the current organization of a session."""

from accounts.middleware import SESSION_KEY
from accounts.models import Membership
from tests.factories import MembershipFactory, UserFactory


def test_the_switcher_lists_only_the_users_own_organizations(client, owner, other_organization):
    client.force_login(owner)
    content = client.get("/", follow=True).content.decode()
    assert '<option value="acme"' in content
    assert "globex" not in content


def test_a_removed_member_falls_back_to_another_organization(
    client, owner, organization, other_organization
):
    MembershipFactory(user=owner, organization=other_organization)
    client.force_login(owner)
    client.post("/orgs/switch/", {"organization": "globex"})
    Membership.objects.filter(user=owner, organization=other_organization).delete()
    response = client.get("/", follow=True)
    assert response.context["organization"] == organization


def test_leaving_the_current_organization_forgets_it_in_the_session(
    client, owner, organization, other_organization
):
    MembershipFactory(user=owner, organization=other_organization)
    client.force_login(owner)
    client.post("/orgs/switch/", {"organization": "globex"})
    mine = Membership.objects.get(user=owner, organization=other_organization)
    response = client.post(f"/orgs/globex/members/{mine.pk}/remove/")
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert SESSION_KEY not in client.session


def test_a_user_without_organizations_is_offered_to_create_one(client, db):
    client.force_login(UserFactory())
    content = client.get("/", follow=True).content.decode()
    assert "/orgs/new/" in content


def test_signing_in_from_an_invitation_link_returns_to_it(client, organization, owner):
    from accounts.models import Invitation
    from tests.factories import TEST_PASSWORD

    invitation = Invitation.objects.create(organization=organization, email="new@example.test")
    UserFactory(email="new@example.test")
    response = client.post(
        f"/accounts/login/?next={invitation.get_absolute_url()}",
        {"login": "new@example.test", "password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == invitation.get_absolute_url()
