"""`Idempotency-Key` on POSTs: the first answer is stored and replayed for a retry with that key.

The key row is inserted in the same transaction as the change it guards: if the change fails, the
row goes with it and a retry runs afresh; if two requests race, the unique constraint makes the
second wait for the first and then replay its answer (PostgreSQL), or queue behind it (SQLite).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from api.auth import Caller
from api.errors import ApiError
from api.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, cls=DjangoJSONEncoder, separators=(",", ":"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def run_idempotent(
    request: HttpRequest,
    response: HttpResponse,
    caller: Caller,
    payload: object,
    action: Callable[[], tuple[int, dict]],
) -> tuple[int, dict]:
    """Run `action` once per (caller, key); a retry gets the stored (status, body)."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return action()
    if len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            400, "bad_request", f"{HEADER} is at most {MAX_KEY_LENGTH} characters.",
            {HEADER: ["Too long."]},
        )
    request_hash = _digest(_canonical([request.method, request.get_full_path(), payload]))
    IdempotencyKey.objects.filter(created_at__lt=timezone.now() - KEEP_FOR).delete()
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    caller=caller.identity,
                    key=key,
                    method=request.method,
                    path=request.path[:300],
                    request_hash=request_hash,
                )
        except IntegrityError:
            record = IdempotencyKey.objects.get(caller=caller.identity, key=key)
            if record.request_hash != request_hash:
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    f"This {HEADER} was used for a different request; use a new key.",
                    {HEADER: ["Already used for a different request."]},
                ) from None
            if record.status_code is None:
                raise ApiError(
                    409, "conflict", f"A request with this {HEADER} is still running."
                ) from None
            response["Idempotent-Replayed"] = "true"
            return record.status_code, record.response_body
        status, body = action()
        stored = json.loads(_canonical(body))
        record.status_code = status
        record.response_body = stored
        record.response_hash = _digest(_canonical(stored))
        record.save(update_fields=["status_code", "response_body", "response_hash"])
        return status, body
