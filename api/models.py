"""Idempotency keys: a retried POST with the same key gets the first answer, not a second one."""

from __future__ import annotations

from django.db import models


class IdempotencyKey(models.Model):
    # Who sent it: "token:<id>" or "user:<id>", so two callers may use the same key.
    caller = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    # Null while the first request is still running.
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["caller", "key"], name="one_response_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.caller} {self.key} → {self.status_code}"
