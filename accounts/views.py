"""Organization pages: switching, invitations. Views check access, call one function, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import get_membership_or_404
from accounts.middleware import SESSION_KEY


@require_POST
@login_required
def switch_organization(request: HttpRequest) -> HttpResponse:
    membership = get_membership_or_404(request.user, request.POST.get("organization", ""))
    request.session[SESSION_KEY] = membership.organization_id
    messages.info(request, f"You are now working in {membership.organization.name}.")
    return redirect("home")


@login_required
def organization_settings(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership_or_404(request.user, slug)
    organization = membership.organization
    members = organization.memberships.select_related("user").order_by("user__email")
    return render(
        request,
        "accounts/settings.html",
        {"organization": organization, "membership": membership, "members": members},
    )


@login_required
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    raise NotImplementedError
