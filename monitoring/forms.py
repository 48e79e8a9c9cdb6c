"""Forms of the monitoring pages."""

from __future__ import annotations

from django import forms
from django.core.validators import URLValidator, validate_email

from monitoring.models import NotificationChannel

MIN_SECRET_LENGTH = 16


class WebhookURLField(forms.URLField):
    # Only http(s), with one message for "not a URL" and "another scheme"; the address rules run
    # as the model field's validator (monitoring/egress.py), so the admin applies them too.
    default_validators = [URLValidator(schemes=["http", "https"])]
    default_error_messages = {"invalid": "Enter a valid http:// or https:// URL."}


class NotificationChannelForm(forms.ModelForm):
    email_addresses = forms.CharField(
        required=False,
        label="E-mail addresses",
        help_text="Comma-separated; for e-mail channels.",
    )
    webhook_url = WebhookURLField(
        required=False, max_length=500, assume_scheme="https", label="Webhook URL",
        help_text="For webhook channels: http(s) to a public address; redirects are not followed.",
    )
    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=f"At least {MIN_SECRET_LENGTH} characters; signs every body (HMAC-SHA256).",
    )

    class Meta:
        model = NotificationChannel
        fields = ["name", "kind", "email_addresses", "webhook_url", "webhook_secret",
                  "min_severity", "notify_on_firing", "notify_on_resolved"]
        labels = {
            "min_severity": "Minimum severity",
            "notify_on_firing": "Notify when an alert fires",
            "notify_on_resolved": "Notify when an alert resolves",
        }

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["email_addresses"] = ", ".join(self.instance.email_addresses)
            if self.instance.webhook_secret:
                # Write-only: the stored secret is never shown; a blank field keeps it.
                self.fields["webhook_secret"].help_text = (
                    "Leave blank to keep the current secret, or give a new one of at least "
                    f"{MIN_SECRET_LENGTH} characters."
                )

    def clean_webhook_secret(self) -> str:
        secret = self.cleaned_data.get("webhook_secret") or ""
        if not secret and self.instance.pk:
            return self.instance.webhook_secret
        return secret

    def clean_email_addresses(self) -> list[str]:
        raw = self.cleaned_data.get("email_addresses") or ""
        addresses = [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                raise forms.ValidationError(f"{address!r} is not an e-mail address.") from None
        return addresses

    def clean(self) -> dict:
        data = super().clean()
        kind = data.get("kind")
        if kind == NotificationChannel.Kind.EMAIL and not data.get("email_addresses"):
            self.add_error("email_addresses", "Give at least one address for an e-mail channel.")
        if kind == NotificationChannel.Kind.WEBHOOK:
            if not data.get("webhook_url") and "webhook_url" not in self.errors:
                self.add_error("webhook_url", "Give the URL a webhook channel posts to.")
            if len(data.get("webhook_secret") or "") < MIN_SECRET_LENGTH:
                self.add_error(
                    "webhook_secret",
                    f"Give a secret of at least {MIN_SECRET_LENGTH} characters to sign bodies.",
                )
        if not data.get("notify_on_firing") and not data.get("notify_on_resolved"):
            self.add_error(
                "notify_on_firing",
                "Choose at least one: when an alert fires, when it resolves, or both.",
            )
        return data
