"""Model fields whose column holds a Fernet token of the value (tuco.crypto); Python code sees the plaintext.

The column is `text` (a token is about 4/3 of the value plus 100 characters); `max_length` still
bounds the plaintext through the usual validator. The empty string is stored as it is: whether a
secret is set is shown by the admin and the API anyway, and `default=""` columns stay cheap.

A token differs on every write (random IV), so the database cannot compare values: every lookup
but `isnull` raises FieldError. Compare in Python (with `hmac.compare_digest` for secrets).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldError
from django.db import models

from tuco import crypto


class EncryptedMixin:
    """Encrypts on the way to the database, decrypts on the way back."""

    def get_internal_type(self) -> str:
        return "TextField"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)  # type: ignore[misc]
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)  # type: ignore[misc]
        raise FieldError(
            f"{self.__class__.__name__} {getattr(self, 'name', '')!r} is encrypted: the database cannot "
            f"compare its values ({lookup_name!r}); load the row and compare in Python")

    def get_transform(self, lookup_name: str) -> Any:
        return None


class EncryptedCharField(EncryptedMixin, models.CharField):
    pass


class EncryptedTextField(EncryptedMixin, models.TextField):
    pass
