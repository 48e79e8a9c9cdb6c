"""Exit codes scripts can rely on; each failure is a ClickException carrying its code."""

from __future__ import annotations

import click

OK = 0
API_ERROR = 1
USAGE = 2  # click's own code for bad arguments and options
NOT_FOUND = 3
AUTH = 4
OPERATION_FAILED = 5


class HappaError(click.ClickException):
    exit_code = API_ERROR


class NotFound(HappaError):
    exit_code = NOT_FOUND


class AuthError(HappaError):
    exit_code = AUTH


class OperationFailed(HappaError):
    exit_code = OPERATION_FAILED


class ApiFailure(HappaError):
    """An error answer from the API: `{"error", "message", "fields"}`."""

    def __init__(self, status: int, body: dict) -> None:
        self.status = status
        self.body = body
        message = body.get("message") or f"HTTP {status}"
        fields = body.get("fields") or {}
        details = "; ".join(
            f"{name or 'request'}: {' '.join(messages)}" for name, messages in fields.items()
        )
        super().__init__(f"{message} ({details})" if details else message)
        if status in (401, 403):
            self.exit_code = AUTH
        elif status == 404:
            self.exit_code = NOT_FOUND
