"""Receivers for sign-in events. SSO role mapping is connected in accounts/sso.py."""

from accounts import sso  # noqa: E402, F401  (connects the SSO membership receivers)
