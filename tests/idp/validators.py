from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """Adds the seeded user's claims; `groups` only when the client asked for the groups scope."""

    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "groups"}

    def get_additional_claims(self, request) -> dict:  # noqa: ANN001 (oauthlib's request)
        from django.conf import settings

        return dict(settings.IDP_CLAIMS.get(request.user.get_username(), {}))
