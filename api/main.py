"""The API object: auth for every route, per-caller rate limits, one error shape."""

from __future__ import annotations

from ninja import NinjaAPI

from api.auth import BearerAuth, PerCallerRateThrottle, SessionAuth
from api.errors import install_error_handlers
from api.routes import alerts, clusters, organizations, tokens

api = NinjaAPI(
    title="Happa API",
    version="1",
    description=(
        "Run Kubernetes guest clusters on AWS. Authenticate with `Authorization: Bearer <token>` "
        "(a Happa API token, or an access token from your organization's identity provider). "
        "Errors are `{error, message, fields}`. See docs/api.md."
    ),
    urls_namespace="api-v1",
    auth=[BearerAuth(), SessionAuth()],
    throttle=[PerCallerRateThrottle()],
)
install_error_handlers(api)
api.add_router("", organizations.router)
api.add_router("", organizations.catalog_router)
api.add_router("", clusters.router)
api.add_router("", alerts.router)
api.add_router("", tokens.router)
