"""Secrets at rest (identity-provider client secrets, ...) are encrypted with Fernet.

The key comes from FIELD_ENCRYPTION_KEY, or is derived from SECRET_KEY when that is unset, so the
embedded set-up needs nothing; production should set FIELD_ENCRYPTION_KEY so that rotating
SECRET_KEY does not make the stored secrets unreadable.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


@cache
def _fernet() -> Fernet:
    material = getattr(settings, "FIELD_ENCRYPTION_KEY", "") or settings.SECRET_KEY
    key = base64.urlsafe_b64encode(hashlib.sha256(f"happa-fields:{material}".encode()).digest())
    return Fernet(key)


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError(
            "A stored secret cannot be decrypted: FIELD_ENCRYPTION_KEY (or SECRET_KEY) changed "
            "since it was saved. Enter the secret again."
        ) from None


class EncryptedTextField(models.TextField):
    """A text column whose value is stored encrypted and read back in clear."""

    def from_db_value(self, value, expression, connection):  # noqa: ANN001 (Django's signature)
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):  # noqa: ANN001
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
