"""Receivers for sign-in events. SSO role mapping is connected in accounts/sso.py."""
