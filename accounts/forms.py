"""Forms of the organization pages. Each validates fully, so a bad value changes nothing."""

from __future__ import annotations

import ipaddress
import re

from cryptography.hazmat.primitives.serialization import load_ssh_public_key
from django import forms
from django.utils.text import slugify

from accounts.members import ROLE_RANK
from accounts.models import Organization, Role, User, slug_validator

# arn:<partition>:iam::<12-digit account>:role/<path/name>
ROLE_ARN_RE = re.compile(r"^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
)
RESERVED_SLUGS = {"new", "switch", "account", "invitations"}


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(max_length=100, label="Organization name")
    slug = forms.CharField(
        max_length=40,
        required=False,
        label="Short name",
        help_text="Used in URLs and cluster tags; lower-case letters, digits and hyphens. "
        "Leave empty to derive it from the name.",
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        name = cleaned.get("name")
        if not name:
            return cleaned
        slug = cleaned.get("slug") or slugify(name)[:40].strip("-")
        field = "slug" if cleaned.get("slug") else "name"
        try:
            slug_validator(slug)
        except forms.ValidationError as error:
            self.add_error(field, error)
            return cleaned
        if slug in RESERVED_SLUGS or Organization.objects.filter(slug=slug).exists():
            self.add_error(field, f"The short name “{slug}” is taken; choose another.")
        cleaned["slug"] = slug
        return cleaned


class CidrListField(forms.CharField):
    """One CIDR per line (or comma-separated), stored as a list of normalized strings."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value: object) -> object:
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value: object) -> list[str]:
        text = super().to_python(value)
        items = [item.strip() for item in re.split(r"[\s,]+", text or "") if item.strip()]
        networks: list[str] = []
        errors: list[str] = []
        for item in items:
            try:
                network = ipaddress.ip_network(item, strict=True)
            except ValueError as error:
                if "host bits set" in str(error):
                    suggestion = ipaddress.ip_network(item, strict=False)
                    errors.append(f"{item} has host bits set; did you mean {suggestion}?")
                else:
                    errors.append(f"{item} is not an IPv4 or IPv6 network such as 203.0.113.0/24.")
                continue
            if str(network) not in networks:
                networks.append(str(network))
        if errors:
            raise forms.ValidationError(errors)
        return networks


class OrganizationSettingsForm(forms.ModelForm):
    allowed_ssh_cidrs = CidrListField(
        required=False,
        label="Allowed SSH networks",
        help_text="One CIDR per line, for example 203.0.113.0/24. Empty: no SSH from anywhere.",
    )

    class Meta:
        model = Organization
        fields = ["name", "allowed_ssh_cidrs", "ssh_public_key", "aws_role_arn", "aws_external_id"]
        widgets = {"ssh_public_key": forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})}
        labels = {"ssh_public_key": "SSH public key"}

    def clean_ssh_public_key(self) -> str:
        key = " ".join(self.cleaned_data["ssh_public_key"].split())
        if not key:
            return ""
        if not key.startswith(SSH_KEY_TYPES):
            raise forms.ValidationError(
                "Paste an OpenSSH public key starting with ssh-ed25519, ssh-rsa or ecdsa-sha2-… "
                "(the contents of your .pub file, not the private key)."
            )
        try:
            load_ssh_public_key(key.encode())
        except (ValueError, TypeError) as error:
            raise forms.ValidationError(
                "This is not a valid OpenSSH public key: the key data does not decode."
            ) from error
        return key

    def clean_aws_role_arn(self) -> str:
        arn = self.cleaned_data["aws_role_arn"].strip()
        if arn and not ROLE_ARN_RE.match(arn):
            raise forms.ValidationError(
                "Enter an IAM role ARN such as arn:aws:iam::123456789012:role/happa-provisioner."
            )
        return arn

    def clean_aws_external_id(self) -> str:
        external_id = self.cleaned_data["aws_external_id"].strip()
        if external_id and not EXTERNAL_ID_RE.match(external_id):
            raise forms.ValidationError(
                "The external id is 2–1224 characters: letters, digits and + = , . @ : / - _."
            )
        return external_id

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("aws_external_id") and not cleaned.get("aws_role_arn"):
            self.add_error("aws_role_arn", "An external id needs a role ARN to go with it.")
        return cleaned


def role_choices(for_owner: bool) -> list[tuple[str, str]]:
    """The roles an actor may hand out: only owners hand out ownership."""
    return [(value, label) for value, label in Role.choices if for_owner or value != Role.OWNER]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, label="Role")


class InvitationForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER, label="Role")

    def __init__(self, *args, for_owner: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(for_owner)


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False, label="Action")

    def __init__(self, *args, actions: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "All actions")] + [(a, a) for a in actions]


TOKEN_LIFETIMES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never expires")]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Token name", help_text="Where it is used, e.g. “CI pipeline”."
    )
    role = forms.ChoiceField(
        label="Role", help_text="A token never acts with more than your own role."
    )
    expires_in_days = forms.TypedChoiceField(
        choices=TOKEN_LIFETIMES, coerce=int, empty_value=None, required=False, initial="90",
        label="Expires",
    )

    def __init__(self, *args, max_role: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [
            (value, label) for value, label in Role.choices
            if ROLE_RANK[Role(value)] <= ROLE_RANK[Role(max_role)]
        ]
        self.fields["role"].initial = max_role


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["name"]
        labels = {"name": "Your name"}
