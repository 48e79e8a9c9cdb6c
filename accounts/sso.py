"""Single sign-on for customers through their organization's own OpenID Connect provider.

Each IdentityProvider row is an allauth `openid_connect` app with provider id `org-<slug>`; the
adapter builds the (unsaved) SocialApp from the row, so the row is the one source of truth: there
are no SocialApp rows and no SOCIALACCOUNT_PROVIDERS apps for these ids.

allauth's authorization-code flow sends no nonce and, having fetched the ID token itself, skips
its signature. We promise both, so `OrganizationOIDCProvider.redirect` sends a nonce kept in the
state, `OrganizationOIDCAdapter.complete_login` verifies the ID token against the IdP's JWKS, and
`SocialAccountAdapter.pre_social_login` compares the nonce. See docs/sso.md for the decisions.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from typing import Any

import jwt
import requests
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.signals import user_logged_in
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.socialaccount.signals import social_account_added
from django.contrib import messages
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from accounts.audit import record_audit
from accounts.models import IdentityProvider, Membership, Organization, Role, User

logger = logging.getLogger(__name__)

PROVIDER_ID_PREFIX = "org-"
DISCOVERY_PATH = "/.well-known/openid-configuration"
HTTP_TIMEOUT_SECONDS = 5
BASE_SCOPES = ["openid", "profile", "email"]
GROUPS_SCOPE = "groups"
# Asymmetric algorithms only: "none" and HS* (keyed with the client secret) are never accepted.
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
ID_TOKEN_LEEWAY_SECONDS = 30
# Most privileged first: with several mapped groups the user gets the strongest role.
ROLE_RANK = [Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER]


# --- Discovery ---------------------------------------------------------------------------------


class DiscoveryError(Exception):
    """The issuer's discovery document is unreachable or unusable; the message says why."""


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + DISCOVERY_PATH


def fetch_discovery(issuer: str, timeout: float = HTTP_TIMEOUT_SECONDS) -> dict[str, Any]:
    """The provider's OpenID configuration, checked to belong to exactly this issuer."""
    url = discovery_url(issuer)
    try:
        response = requests.get(url, timeout=timeout, headers={"Accept": "application/json"})
    except requests.RequestException as error:
        raise DiscoveryError(
            f"{url} is not reachable ({type(error).__name__}). Check the issuer URL and that "
            "the provider accepts connections from this site."
        ) from error
    if response.status_code != 200:
        raise DiscoveryError(
            f"{url} answered HTTP {response.status_code}, not the provider's configuration. "
            "Check the issuer URL."
        )
    try:
        config = response.json()
    except ValueError:
        config = None
    if not isinstance(config, dict):
        raise DiscoveryError(f"{url} did not answer with an OpenID configuration (JSON).")
    announced = str(config.get("issuer", ""))
    # A trailing slash is the only difference we forgive: tokens are checked against the
    # announced issuer anyway, and that is the value we store.
    if announced.rstrip("/") != issuer.rstrip("/"):
        raise DiscoveryError(
            f"The provider at {url} says its issuer is {announced or 'missing'!r}, not "
            f"{issuer!r}. Enter exactly the provider's issuer URL."
        )
    missing = [
        key for key in ("authorization_endpoint", "token_endpoint", "jwks_uri") if key not in config
    ]
    if missing:
        raise DiscoveryError(f"The configuration at {url} lacks {', '.join(missing)}.")
    return config


# --- Configuring an organization's provider ---------------------------------------------------

AUDITED_FIELDS = (
    "name",
    "issuer",
    "client_id",
    "groups_claim",
    "group_roles",
    "default_role",
    "allowed_email_domains",
)


def save_identity_provider(
    organization: Organization,
    values: dict[str, Any],
    *,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> IdentityProvider:
    """Create or update the organization's IdP from validated values, and audit what changed.

    An empty `client_secret` keeps the stored one (the secret is write-only in forms).
    """
    with transaction.atomic():
        idp = IdentityProvider.objects.filter(organization=organization).first()
        created = idp is None
        if created:
            idp = IdentityProvider(organization=organization)
        before = {name: getattr(idp, name) for name in AUDITED_FIELDS}
        for name in AUDITED_FIELDS:
            if name in values:
                setattr(idp, name, values[name])
        secret_changed = bool(values.get("client_secret"))
        if secret_changed:
            idp.client_secret = values["client_secret"]
        if created and not idp.client_secret:
            raise ValueError("A new identity provider needs a client secret.")
        idp.save()
        changed = [name for name in AUDITED_FIELDS if getattr(idp, name) != before[name]]
        if created or changed or secret_changed:
            record_audit(
                "sso.provider_created" if created else "sso.provider_changed",
                organization=organization,
                actor=actor,
                request=request,
                target=idp,
                # Never the secret itself: only that it changed.
                changed=sorted(changed + (["client_secret"] if secret_changed else [])),
                issuer=idp.issuer,
            )
    return idp


def delete_identity_provider(
    idp: IdentityProvider, *, actor: User | None = None, request: HttpRequest | None = None
) -> None:
    with transaction.atomic():
        record_audit(
            "sso.provider_deleted",
            organization=idp.organization,
            actor=actor,
            request=request,
            target=idp,
            issuer=idp.issuer,
        )
        idp.delete()


# --- Claims, roles, memberships ----------------------------------------------------------------


def identity_provider_for(provider_id: str) -> IdentityProvider | None:
    if not provider_id.startswith(PROVIDER_ID_PREFIX):
        return None
    slug = provider_id.removeprefix(PROVIDER_ID_PREFIX)
    return IdentityProvider.objects.select_related("organization").filter(
        organization__slug=slug
    ).first()


def claims_of(sociallogin: SocialLogin) -> dict[str, Any]:
    """The verified ID token's claims, completed by userinfo (which may carry more)."""
    data = sociallogin.account.extra_data or {}
    return {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}


def groups_from_claims(claims: dict[str, Any], claim: str) -> list[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def role_for_groups(idp: IdentityProvider, groups: Iterable[str]) -> str:
    """The strongest role any of the groups maps to, else the provider's default role."""
    mapped = [idp.group_roles[group] for group in groups if group in (idp.group_roles or {})]
    valid = [role for role in mapped if role in ROLE_RANK]
    if not valid:
        return idp.default_role
    return min(valid, key=ROLE_RANK.index)


def email_domain_allowed(idp: IdentityProvider, email: str) -> bool:
    if not idp.allowed_email_domains:
        return True
    domain = email.rpartition("@")[2].lower()
    return domain in {d.lower() for d in idp.allowed_email_domains}


def ensure_sso_membership(
    user: User,
    idp: IdentityProvider,
    groups: Iterable[str],
    request: HttpRequest | None = None,
) -> Membership:
    """Make the user a member of the IdP's organization with the mapped role, if not one yet.

    An existing membership is left alone: after the first sign-in, roles are managed in Happa.
    """
    role = role_for_groups(idp, groups)
    membership, created = Membership.objects.get_or_create(
        user=user, organization=idp.organization, defaults={"role": role}
    )
    if created:
        record_audit(
            "membership.created_by_sso",
            organization=idp.organization,
            actor=user,
            request=request,
            target=membership,
            role=role,
            provider=idp.name,
        )
    return membership


# --- allauth: apps, provider, token handling ---------------------------------------------------


def social_app_for(idp: IdentityProvider) -> SocialApp:
    """An unsaved SocialApp describing this IdP to allauth."""
    app = SocialApp(
        provider=OpenIDConnectProvider.id,
        provider_id=idp.provider_id,
        name=idp.name,
        client_id=idp.client_id,
        secret=idp.client_secret,
        settings={
            "server_url": idp.issuer,
            "oauth_pkce_enabled": True,
            "scope": [*BASE_SCOPES, GROUPS_SCOPE],
        },
    )
    return app


def verify_id_token(id_token: str, openid_config: dict[str, Any], client_id: str) -> dict:
    """The ID token's claims, after checking signature (JWKS), issuer, audience and expiry."""
    try:
        jwks = jwt.PyJWKClient(
            openid_config["jwks_uri"], cache_keys=False, timeout=HTTP_TIMEOUT_SECONDS
        )
        signing_key = jwks.get_signing_key_from_jwt(id_token)
        return jwt.decode(
            id_token,
            signing_key.key,
            algorithms=ID_TOKEN_ALGORITHMS,
            audience=client_id,
            issuer=openid_config["issuer"],
            leeway=ID_TOKEN_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise OAuth2Error(f"ID token refused: {error}") from error


class OrganizationOIDCAdapter(OpenIDConnectOAuth2Adapter):
    """allauth's adapter, but the ID token's signature is always verified against the JWKS."""

    def complete_login(  # noqa: ANN201 (allauth's signature)
        self, request: HttpRequest, app: SocialApp, token: Any, **kwargs: Any
    ):
        id_token = kwargs["response"].get("id_token")
        if not id_token:
            raise OAuth2Error("The provider sent no ID token.")
        claims = verify_id_token(id_token, self.openid_config, app.client_id)
        data: dict[str, Any] = {"id_token": claims}
        if self.openid_config.get("userinfo_endpoint"):
            with requests.Session() as session:
                response = session.get(
                    self.profile_url,
                    headers={"Authorization": f"Bearer {token.token}"},
                    timeout=HTTP_TIMEOUT_SECONDS,
                )
            response.raise_for_status()
            userinfo = response.json()
            # OpenID Connect Core 5.3.2: userinfo about another subject must not be used.
            if str(userinfo.get("sub")) != str(claims["sub"]):
                raise OAuth2Error("The userinfo answer is about another subject.")
            data["userinfo"] = userinfo
        return self.get_provider().sociallogin_from_response(request, data)


def idp_unreachable_response(request: HttpRequest, name: str) -> HttpResponseRedirect:
    messages.error(
        request,
        f"{name} is not reachable right now, so single sign-on cannot continue. Try again in a "
        "few minutes; if it persists, ask your organization's administrator.",
    )
    return HttpResponseRedirect(reverse("account_login"))


def refusal_response(request: HttpRequest, message: str) -> HttpResponseRedirect:
    messages.error(request, message)
    return HttpResponseRedirect(reverse("account_login"))


class OrganizationOIDCProvider(OpenIDConnectProvider):
    """allauth's OpenID Connect provider for one organization's IdP, sending a nonce."""

    oauth2_adapter_class = OrganizationOIDCAdapter

    def get_oauth2_adapter(self, request: HttpRequest) -> OrganizationOIDCAdapter:
        # One adapter per provider object, so discovery is fetched once per request.
        adapter = getattr(self, "_oauth2_adapter", None)
        if adapter is None:
            adapter = self._oauth2_adapter = OrganizationOIDCAdapter(request, self.app.provider_id)
        return adapter

    def redirect(  # noqa: ANN201 (allauth's signature)
        self,
        request: HttpRequest,
        process: str,
        next_url: str | None = None,
        data: Any = None,
        **kwargs: Any,
    ):
        try:
            openid_config = self.get_oauth2_adapter(request).openid_config
        except (requests.RequestException, ValueError) as error:
            logger.warning("SSO discovery for %s failed: %s", self.app.provider_id, error)
            return idp_unreachable_response(request, self.app.name)
        auth_params = kwargs.pop("auth_params", None) or self.get_auth_params()
        nonce = secrets.token_urlsafe(32)
        auth_params["nonce"] = nonce
        scope = kwargs.pop("scope", None) or self.get_scope()
        supported = openid_config.get("scopes_supported")
        if supported is not None and GROUPS_SCOPE not in supported:
            # Azure AD and others send groups without a scope and refuse unknown scopes.
            scope = [s for s in scope if s != GROUPS_SCOPE]
        return super().redirect(
            request, process, next_url, data, auth_params=auth_params, scope=scope,
            nonce=nonce, **kwargs,
        )


class AccountAdapter(DefaultAccountAdapter):
    pass


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Lists the organizations' IdPs as allauth apps and applies their sign-in rules."""

    def list_apps(
        self, request: HttpRequest | None, provider: str | None = None, client_id: str | None = None
    ) -> list[SocialApp]:
        apps = [
            app
            for app in super().list_apps(request, provider=provider, client_id=client_id)
            if not (app.provider_id or "").startswith(PROVIDER_ID_PREFIX)
        ]
        idps = IdentityProvider.objects.select_related("organization").order_by("name")
        if provider and provider.startswith(PROVIDER_ID_PREFIX):
            idps = idps.filter(organization__slug=provider.removeprefix(PROVIDER_ID_PREFIX))
        elif provider and provider != OpenIDConnectProvider.id:
            idps = idps.none()
        if client_id:
            idps = idps.filter(client_id=client_id)
        return apps + [social_app_for(idp) for idp in idps]

    def get_provider(  # noqa: ANN201 (allauth's signature)
        self, request: HttpRequest, provider: str, client_id: str | None = None
    ):
        found = super().get_provider(request, provider, client_id=client_id)
        app = found.app
        if app is not None and (app.provider_id or "").startswith(PROVIDER_ID_PREFIX):
            return OrganizationOIDCProvider(request, app=app)
        return found

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        idp = identity_provider_for(sociallogin.account.provider)
        if idp is None:
            return
        claims = claims_of(sociallogin)
        expected_nonce = (sociallogin.state or {}).get("nonce")
        token_nonce = (sociallogin.account.extra_data.get("id_token") or {}).get("nonce")
        if not expected_nonce or not token_nonce or not secrets.compare_digest(
            str(expected_nonce), str(token_nonce)
        ):
            logger.warning("SSO through %s refused: nonce mismatch", idp.provider_id)
            raise ImmediateHttpResponse(
                refusal_response(
                    request,
                    f"The answer from {idp.name} could not be verified (it does not belong to "
                    "this sign-in). Please start again.",
                )
            )
        email = str(claims.get("email") or "")
        if not email:
            raise ImmediateHttpResponse(
                refusal_response(
                    request, f"{idp.name} did not share your e-mail address, so we cannot sign "
                    "you in. Ask your administrator to release the email claim to Happa."
                )
            )
        if not email_domain_allowed(idp, email):
            domains = ", ".join(idp.allowed_email_domains)
            raise ImmediateHttpResponse(
                refusal_response(
                    request,
                    f"Sign-in through {idp.name} is limited to e-mail addresses at {domains}; "
                    f"{email} is not one of them.",
                )
            )
        is_connecting = (sociallogin.state or {}).get("process") == "connect"
        if not sociallogin.is_existing and not is_connecting:
            taken = User.objects.filter(email__iexact=email).exists()
            if taken:
                # Deliberately no automatic linking: an org admin controls what their IdP
                # asserts, so linking by e-mail would let them take over anyone's account.
                raise ImmediateHttpResponse(
                    refusal_response(
                        request,
                        f"An account for {email} already exists. Sign in with your password, "
                        f"then connect {idp.name} under Account → Third-party accounts.",
                    )
                )

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict) -> User:
        user = super().populate_user(request, sociallogin, data)
        # Our User has one `name` field where allauth fills first/last names.
        user.name = str(data.get("name") or "")[:150]
        return user

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None) -> User:
        user = super().save_user(request, sociallogin, form)
        idp = identity_provider_for(sociallogin.account.provider)
        if idp is not None:
            claims = claims_of(sociallogin)
            ensure_sso_membership(
                user, idp, groups_from_claims(claims, idp.groups_claim), request=request
            )
        return user


def on_social_sign_in(request: HttpRequest, user: User, sociallogin: SocialLogin | None) -> None:
    """After an SSO sign-in or connect: the user is (again) a member of the IdP's organization."""
    if sociallogin is None:
        return
    idp = identity_provider_for(sociallogin.account.provider)
    if idp is not None:
        claims = claims_of(sociallogin)
        ensure_sso_membership(
            user, idp, groups_from_claims(claims, idp.groups_claim), request=request
        )


@receiver(user_logged_in)
def membership_on_sso_login(
    sender: type, request: HttpRequest, user: User, sociallogin: SocialLogin | None = None,
    **kwargs: Any,
) -> None:
    on_social_sign_in(request, user, sociallogin)


@receiver(social_account_added)
def membership_on_sso_connect(
    sender: type, request: HttpRequest, sociallogin: SocialLogin, **kwargs: Any
) -> None:
    on_social_sign_in(request, sociallogin.user, sociallogin)
