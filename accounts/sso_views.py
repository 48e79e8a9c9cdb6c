"""SSO pages: the OpenID Connect callback (with signature checks) and an org's SSO settings."""

from __future__ import annotations

import requests
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import get_membership_or_404
from accounts.models import IdentityProvider, Membership
from accounts.sso import (
    OrganizationOIDCAdapter,
    delete_identity_provider,
    identity_provider_for,
    idp_unreachable_response,
    save_identity_provider,
)
from accounts.sso_forms import IdentityProviderForm


@login_not_required
def oidc_callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    """allauth's openid_connect callback, served with our adapter (JWKS-verified ID tokens).

    Mounted at the very path of allauth's `openid_connect_callback`, ahead of it, so redirect URIs
    registered at IdPs stay allauth's.
    """
    adapter = OrganizationOIDCAdapter(request, provider_id)
    try:
        return OAuth2CallbackView.adapter_view(adapter)(request)
    except SocialApp.DoesNotExist:
        raise Http404("No such identity provider.") from None
    except requests.RequestException:
        # Discovery failed between the redirect and the callback.
        idp = identity_provider_for(provider_id)
        return idp_unreachable_response(request, idp.name if idp else "The identity provider")


def admin_membership_or_refuse(request: HttpRequest, slug: str) -> Membership:
    membership = get_membership_or_404(request.user, slug)  # another tenant: 404
    if not membership.is_admin:
        raise PermissionDenied("Only the organization's owners and admins manage single sign-on.")
    return membership


@login_required
def sso_settings(request: HttpRequest, slug: str) -> HttpResponse:
    membership = admin_membership_or_refuse(request, slug)
    organization = membership.organization
    idp = IdentityProvider.objects.filter(organization=organization).first()
    form = IdentityProviderForm(request.POST or None, instance=idp)
    if request.method == "POST" and form.is_valid():
        idp = save_identity_provider(
            organization, form.cleaned_data, actor=request.user, request=request
        )
        messages.success(
            request,
            f"Single sign-on through {idp.name} is saved. Register the redirect URI below at "
            "your identity provider if you have not yet.",
        )
        return redirect("accounts:sso", slug=organization.slug)
    # The redirect URI depends only on the organization, so it is shown before the first save.
    redirect_uri = (idp or IdentityProvider(organization=organization)).redirect_uri
    return render(
        request,
        "accounts/sso_settings.html",
        {
            "organization": organization,
            "membership": membership,
            "identity_provider": idp,
            "form": form,
            "redirect_uri": redirect_uri,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@login_required
def sso_delete(request: HttpRequest, slug: str) -> HttpResponse:
    membership = admin_membership_or_refuse(request, slug)
    idp = IdentityProvider.objects.filter(organization=membership.organization).first()
    if idp is None:
        raise Http404("This organization has no identity provider.")
    delete_identity_provider(idp, actor=request.user, request=request)
    messages.success(request, f"Single sign-on through {idp.name} is removed.")
    return redirect("accounts:sso", slug=membership.organization.slug)
