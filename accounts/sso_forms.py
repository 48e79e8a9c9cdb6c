"""The organization's SSO settings form; shared parsing and validation for the command too."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from accounts.models import IdentityProvider, Role
from accounts.sso import DiscoveryError, fetch_discovery

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
GROUP_ROLE_HELP = 'One mapping per line, "group = role", for example "platform-admins = admin".'


def validate_issuer(value: str) -> str:
    """The issuer as the provider announces it; raises ValidationError with the reason."""
    value = value.strip()
    URLValidator(schemes=["http", "https"])(value)
    parts = urlsplit(value)
    if parts.scheme != "https" and parts.hostname not in LOOPBACK_HOSTS:
        # OpenID Connect requires TLS; plain http only for a provider on this machine.
        raise ValidationError("The issuer URL must start with https://.")
    if parts.query or parts.fragment:
        raise ValidationError("The issuer URL has no query or fragment.")
    try:
        config = fetch_discovery(value)
    except DiscoveryError as error:
        raise ValidationError(str(error)) from error
    return str(config["issuer"])


def parse_group_roles(text: str) -> dict[str, str]:
    roles = {choice.value for choice in Role}
    mapping: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        group, sep, role = (part.strip() for part in line.rpartition("="))
        if not sep or not group or not role:
            raise ValidationError(f'Line {number}: write "group = role". {GROUP_ROLE_HELP}')
        if role.lower() not in roles:
            raise ValidationError(
                f"Line {number}: {role!r} is not a role; use one of {', '.join(sorted(roles))}."
            )
        mapping[group] = role.lower()
    return mapping


def format_group_roles(mapping: dict[str, str]) -> str:
    return "\n".join(f"{group} = {role}" for group, role in mapping.items())


def parse_domains(text: str) -> list[str]:
    domains = []
    for item in re.split(r"[\s,]+", text.strip().lower()):
        if not item:
            continue
        domain = item.removeprefix("@")
        if not DOMAIN_RE.match(domain):
            raise ValidationError(f"{item!r} is not a domain name such as example.com.")
        if domain not in domains:
            domains.append(domain)
    return domains


class IdentityProviderForm(forms.Form):
    name = forms.CharField(
        max_length=60, help_text='Shown on the login page as "Sign in with <name>".'
    )
    issuer = forms.CharField(
        label="Issuer URL",
        max_length=200,
        help_text="For example https://keycloak.example.com/realms/acme. Happa checks "
        "<issuer>/.well-known/openid-configuration when you save.",
    )
    client_id = forms.CharField(label="Client ID", max_length=200)
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave empty to keep the stored secret.",
    )
    groups_claim = forms.CharField(
        max_length=100, initial="groups", help_text="The claim that lists the user's groups."
    )
    group_roles = forms.CharField(
        label="Group → role",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=GROUP_ROLE_HELP + " The strongest mapped role wins.",
    )
    default_role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.MEMBER,
        help_text="The role of a first-time user whose groups map to no role.",
    )
    allowed_email_domains = forms.CharField(
        label="Allowed e-mail domains",
        required=False,
        help_text="Comma- or space-separated, for example acme.com, acme.de. Empty: any domain.",
    )

    def __init__(self, *args: Any, instance: IdentityProvider | None = None, **kwargs: Any):
        self.instance = instance
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "issuer": instance.issuer,
                    "client_id": instance.client_id,
                    "groups_claim": instance.groups_claim,
                    "group_roles": format_group_roles(instance.group_roles or {}),
                    "default_role": instance.default_role,
                    "allowed_email_domains": ", ".join(instance.allowed_email_domains or []),
                },
            )
        super().__init__(*args, **kwargs)
        if instance is None:
            self.fields["client_secret"].required = True
            self.fields["client_secret"].help_text = "Write-only: it is never shown again."

    def clean_issuer(self) -> str:
        return validate_issuer(self.cleaned_data["issuer"])

    def clean_group_roles(self) -> dict[str, str]:
        return parse_group_roles(self.cleaned_data["group_roles"])

    def clean_allowed_email_domains(self) -> list[str]:
        return parse_domains(self.cleaned_data["allowed_email_domains"])

    def clean_groups_claim(self) -> str:
        return self.cleaned_data["groups_claim"].strip()
