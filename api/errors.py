"""One error shape for every failure: `{"error": code, "message": text, "fields": {name: [text]}}`.

Routes raise `ApiError` (or the domain's InvalidRequest, or Http404); the handlers registered here
turn each into that shape with the right status, so no route builds an error body itself.
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from clusters.specs import InvalidRequest

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        super().__init__(message)


def forbidden(message: str = "Your role in this organization cannot make changes.") -> ApiError:
    return ApiError(403, "forbidden", message)


def conflict(message: str, fields: dict[str, list[str]] | None = None) -> ApiError:
    return ApiError(409, "conflict", message, fields)


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": code, "message": message, "fields": fields or {}}


def _field_name(location: list) -> str:
    # ninja reports ["body", "payload", "node_pools", 0, "min_size"]: keep what a client sent.
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
        if parts and parts[0] in ("payload", "params", "filters"):
            parts = parts[1:]
    return ".".join(parts) or ""


def install_error_handlers(api: NinjaAPI) -> None:
    def respond(request: HttpRequest, status: int, body: dict) -> HttpResponse:
        return api.create_response(request, body, status=status)

    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return respond(request, exc.status, error_body(exc.code, exc.message, exc.fields))

    @api.exception_handler(InvalidRequest)
    def invalid_request(request: HttpRequest, exc: InvalidRequest) -> HttpResponse:
        return respond(
            request, 422, error_body("invalid", "The request was refused; see fields.", exc.fields)
        )

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields: dict[str, list[str]] = {}
        for error in exc.errors:
            fields.setdefault(_field_name(list(error.get("loc", []))), []).append(error["msg"])
        return respond(
            request, 422, error_body("invalid", "The request does not match the schema.", fields)
        )

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = respond(
            request,
            401,
            error_body(
                "unauthenticated",
                "Send a valid API token or identity-provider access token as "
                "'Authorization: Bearer <token>'.",
            ),
        )
        response["WWW-Authenticate"] = 'Bearer realm="happa"'
        return response

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        wait = int(exc.wait or 1)
        response = respond(
            request,
            429,
            error_body("rate_limited", f"Too many requests; retry in {wait} seconds."),
        )
        response["Retry-After"] = str(wait)
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = {400: "bad_request", 403: "forbidden", 404: "not_found"}.get(
            exc.status_code, "error"
        )
        return respond(request, exc.status_code, error_body(code, str(exc)))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        message = str(exc) if str(exc) else "Not found."
        return respond(request, 404, error_body("not_found", message))
