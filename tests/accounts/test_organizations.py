from accounts.middleware import SESSION_KEY
from tests.conftest import member_of


def test_a_member_lands_on_their_organizations_clusters(client, owner, organization):
    client.force_login(owner)
    response = client.get("/", follow=True)
    assert response.redirect_chain == [("/clusters/", 302)]
    assert response.status_code == 200
    assert b"Acme" in response.content


def test_another_tenants_settings_page_is_a_404(client, outsider, organization):
    client.force_login(outsider)
    response = client.get(f"/orgs/{organization.slug}/settings/")
    assert response.status_code == 404


def test_switching_to_an_organization_of_ones_own_changes_the_current_one(
    client, owner, organization, other_organization
):
    member_of(other_organization, email="x@x.test")
    owner_in_both = owner
    from tests.factories import MembershipFactory

    MembershipFactory(user=owner_in_both, organization=other_organization)
    client.force_login(owner_in_both)
    response = client.post("/orgs/switch/", {"organization": "globex"})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == other_organization.id
    assert b"Globex" in client.get("/", follow=True).content


def test_switching_to_someone_elses_organization_is_a_404(client, owner, other_organization):
    client.force_login(owner)
    response = client.post("/orgs/switch/", {"organization": other_organization.slug})
    assert response.status_code == 404
    assert SESSION_KEY not in client.session
