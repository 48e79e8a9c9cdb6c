"""How the engine tells a resource that is not ready from an AWS error, and a passing error from one
that needs a person.

Botocore already retries throttling and 5xx a few times (aws.CLIENT_CONFIG); what still reaches us
is either transient (retry the reconcile later, with backoff) or permanent (the cluster fails with a
message the user can act on, and may be retried or deleted).
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "PriorRequestNotComplete",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "IncorrectState",
        "IncorrectInstanceState",
        "DependencyViolation",
        "ResourceInUse",
        "ResourceInUseException",
        "ConcurrentModification",
        "ConcurrentModificationException",
        "ScalingActivityInProgress",
    }
)

# What each permanent error means to a customer; the AWS message follows in the reason.
PERMANENT_HINTS = {
    "InsufficientInstanceCapacity": "AWS has no capacity for this instance type in the chosen "
    "availability zones right now. Retry later or pick another instance type.",
    "Unsupported": "This instance type or feature is not offered in the chosen region or "
    "availability zone. Pick another instance type.",
    "UnauthorizedOperation": "The AWS role Happa uses is not allowed to do this. Check the "
    "organization's AWS role and its policy.",
    "AccessDenied": "The AWS role Happa uses is not allowed to do this. Check the organization's "
    "AWS role and its policy.",
}


class NotReady(Exception):
    """A step's resource exists but is not ready yet (a NAT gateway pending): try again later."""

    def __init__(self, message: str, retry_in: int = 10) -> None:
        super().__init__(message)
        self.message = message
        self.retry_in = retry_in


class ProvisioningFailed(Exception):
    """A problem no retry will fix by itself; `reason` is written for the cluster's owner."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (BotoConnectionError, ReadTimeoutError)):
        return True
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in TRANSIENT_CODES or status >= 500
    return isinstance(exc, BotoCoreError)


def is_not_found(exc: BaseException) -> bool:
    code = error_code(exc)
    return "NotFound" in code or code in {"NoSuchEntity", "NoSuchHostedZone", "ValidationError"}


def user_reason(exc: BaseException, step: str) -> str:
    """The cluster's status_reason for a permanent AWS error: what failed, why, what to do."""
    if isinstance(exc, ProvisioningFailed):
        return exc.reason
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "")
        hint = PERMANENT_HINTS.get(code.split(".")[0], "")
        if not hint and ("LimitExceeded" in code or "Quota" in code):
            hint = "An AWS quota of the account is reached. Ask AWS for a higher limit or " \
                "delete unused resources, then retry."
        if not hint and code.startswith("Invalid"):
            hint = "AWS refused a parameter of this cluster. Check its settings, then retry " \
                "or delete it."
        text = f"Step '{step}' failed: AWS said {code}: {message}".rstrip(": ")
        return f"{text}. {hint}".strip() if hint else text
    return f"Step '{step}' failed: {exc}"
