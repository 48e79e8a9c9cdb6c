"""A real OpenID Provider for the SSO tests: django-oauth-toolkit in OIDC mode, run as its own
process.

`python -m tests.idp.serve <port> <seed.json>` migrates a fresh SQLite database in a temporary
directory, creates the users and clients named in the seed file, and serves discovery, JWKS,
authorize (with a login form), token and userinfo on 127.0.0.1. Nothing here imports Happa.
"""
