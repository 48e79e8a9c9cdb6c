"""Users, organizations (the tenants), memberships with roles, invitations, SSO settings, audit log."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.crypto import EncryptedTextField


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("Users need an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person. Signs in with an e-mail address; belongs to organizations through memberships."""

    username = None
    first_name = None
    last_name = None
    name = models.CharField(max_length=150, blank=True)
    email = models.EmailField("e-mail address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email.split("@")[0]


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$",
    "Use 1–40 lower-case letters, digits and hyphens, starting and ending with a letter or digit.",
)


class OrganizationQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> OrganizationQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Organization(models.Model):
    """A customer: the tenant that owns clusters, members and settings."""

    slug = models.SlugField(max_length=40, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    # Where and how the org's clusters are reached and provisioned (used by clusters/).
    ssh_public_key = models.TextField(
        blank=True, help_text="OpenSSH public key imported as the key pair of the bastions."
    )
    allowed_ssh_cidrs = models.JSONField(
        default=list,
        blank=True,
        help_text="CIDRs allowed to SSH to the bastions. Empty: no SSH from anywhere.",
    )
    aws_role_arn = models.CharField(
        "AWS role ARN",
        max_length=200,
        blank=True,
        help_text="IAM role in the organization's own AWS account; empty: the operator's account.",
    )
    aws_external_id = models.CharField("AWS external id", max_length=200, blank=True)
    max_clusters = models.PositiveIntegerField(default=10, help_text="Quota: clusters at once.")
    max_nodes = models.PositiveIntegerField(
        default=100, help_text="Quota: worker nodes (max size of all pools) at once."
    )

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")
        ]
        ordering = ["organization__name", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def can_change(self) -> bool:
        """Whether this member may create, change and delete the org's clusters."""
        return self.role != Role.VIEWER

    @property
    def is_admin(self) -> bool:
        """Whether this member may manage the organization itself (members, SSO, settings)."""
        return self.role in (Role.OWNER, Role.ADMIN)


def new_invitation_token() -> str:
    return secrets.token_urlsafe(32)


def invitation_expiry() -> timezone.datetime:
    return timezone.now() + timedelta(days=7)


class Invitation(models.Model):
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token = models.CharField(max_length=64, unique=True, default=new_invitation_token)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()

    def get_absolute_url(self) -> str:
        return reverse("accounts:accept_invitation", args=[self.token])


class IdentityProvider(models.Model):
    """An organization's own OpenID Connect provider, for its members' single sign-on."""

    organization = models.OneToOneField(
        Organization, models.CASCADE, related_name="identity_provider"
    )
    name = models.CharField(
        max_length=60, help_text='Shown on the login page as "Sign in with <name>".'
    )
    issuer = models.URLField(
        "issuer URL",
        help_text="The provider's issuer; /.well-known/openid-configuration must answer below it.",
    )
    client_id = models.CharField(max_length=200)
    client_secret = EncryptedTextField()
    groups_claim = models.CharField(
        max_length=100, default="groups", help_text="The ID-token claim that lists the groups."
    )
    group_roles = models.JSONField(
        default=dict,
        blank=True,
        help_text='Groups mapped to roles, for example {"platform-admins": "admin"}.',
    )
    default_role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    allowed_email_domains = models.JSONField(
        default=list,
        blank=True,
        help_text="Only these e-mail domains may sign up through this provider. Empty: any.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.organization.slug})"

    @property
    def provider_id(self) -> str:
        """The allauth provider id, which also names the callback URL."""
        return f"org-{self.organization.slug}"

    @property
    def redirect_uri(self) -> str:
        """The callback URL to register at the identity provider."""
        path = reverse("openid_connect_callback", kwargs={"provider_id": self.provider_id})
        return f"{settings.SITE_URL}{path}"


class AuditLogEntry(models.Model):
    """Who changed what, when, and from where."""

    organization = models.ForeignKey(
        Organization, models.SET_NULL, null=True, blank=True, related_name="audit_log"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as text so the entry still says who it was after the user is deleted.
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=80)
    target = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target}"


class ApiTokenQuerySet(models.QuerySet):
    def usable(self) -> ApiTokenQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A bearer token for the API and CLI, scoped to one organization and a role.

    Only a SHA-256 of the secret is stored; the secret is shown once, when the token is made.
    """

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to tell it.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
