"""API tokens of the caller: list, make (the secret is in this one answer only), revoke."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.http import Http404, HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from accounts.audit import record_audit
from accounts.models import ApiToken, Role
from accounts.tokens import ROLE_RANK, TokenError, create_token, revoke_token
from api.access import caller_of
from api.errors import ApiError, conflict, forbidden
from api.present import paginate
from api.routes.organizations import PageParams
from api.schemas import ErrorOut, PageMeta

router = Router(tags=["tokens"])

MAX_ID = 2**63 - 1
TokenId = Path(..., ge=1, le=MAX_ID, description="The token's id.")
READ_ERRORS = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}
WRITE_ERRORS = {**READ_ERRORS, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut}


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    role: str
    user: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenPage(PageMeta):
    items: list[TokenOut]


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    role: Role | None = Field(None, description="At most your own role (default: your role).")
    expires_days: int | None = Field(None, ge=1, le=3650, description="Default: never.")


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret. Shown in this answer only; store it now.")


def token_out(token: ApiToken) -> dict:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "role": token.role,
        "user": token.user.email,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


def _visible_tokens(request: HttpRequest):  # noqa: ANN202 (a QuerySet)
    caller = caller_of(request)
    rows = ApiToken.objects.filter(organization=caller.organization).select_related("user")
    # Admins and owners see (and may revoke) every token of the organization; others their own.
    if caller.role not in (Role.OWNER, Role.ADMIN):
        rows = rows.filter(user=caller.user)
    return rows


class TokenParams(PageParams):
    include_revoked: bool = Field(False, description="Also list revoked and expired tokens.")


@router.get("/tokens", response={200: TokenPage, **READ_ERRORS})
def list_tokens(request: HttpRequest, params: Query[TokenParams]) -> dict:
    """Your API tokens in this organization (admins: everyone's). Secrets are never shown again."""
    rows = _visible_tokens(request)
    if not params.include_revoked:
        rows = rows.usable()
    return paginate(rows, params.limit, params.offset, token_out)


@router.post("/tokens", response={201: NewTokenOut, **WRITE_ERRORS})
def make_token(request: HttpRequest, payload: TokenIn) -> Status:
    """Make a token for yourself in this organization, with at most your current role."""
    caller = caller_of(request)
    role = payload.role.value if payload.role else caller.role
    if ROLE_RANK[Role(role)] > ROLE_RANK[Role(caller.role)]:
        raise forbidden(f"A {caller.role} cannot make a token with the {role} role.")
    try:
        issued = create_token(
            caller.user,
            caller.organization,
            name=payload.name,
            role=role,
            expires_in=timedelta(days=payload.expires_days) if payload.expires_days else None,
        )
    except TokenError as error:
        raise ApiError(422, "invalid", str(error), {"": [str(error)]}) from None
    record_audit(
        "api_token.created", organization=caller.organization, actor=caller.user,
        request=request, target=issued.token, role=issued.token.role, via=f"api/{caller.via}",
    )
    return Status(201, {**token_out(issued.token), "token": issued.secret})


@router.delete("/tokens/{token_id}", response={200: TokenOut, **WRITE_ERRORS})
def revoke(request: HttpRequest, token_id: int = TokenId) -> dict:
    """Revoke a token at once (your own; admins: any of the organization's)."""
    token = _visible_tokens(request).filter(pk=token_id).first()
    if token is None:
        raise Http404(f"No token {token_id} of yours in this organization.")
    caller = caller_of(request)
    if not revoke_token(token):
        raise conflict("That token is already revoked.")
    record_audit(
        "api_token.revoked", organization=caller.organization, actor=caller.user,
        request=request, target=token, prefix=token.prefix,
    )
    return token_out(token)


