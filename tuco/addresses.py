"""Recipient addresses: phones to E.164 (phonenumbers), emails lowercased and validated."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

_email_validator = EmailValidator()


class InvalidAddress(ValueError):
    pass


def normalize_phone(raw: str, *, default_region: str | None = None) -> str:
    """Return the E.164 form of a valid phone number, or raise InvalidAddress.

    Without `default_region` the number must carry its country code (+…).
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidAddress("empty phone number")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddress(str(exc)) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidAddress(f"{text!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    text = (raw or "").strip().lower()
    try:
        _email_validator(text)
    except ValidationError as exc:
        raise InvalidAddress(f"{raw!r} is not a valid email address") from exc
    return text


def is_email(address: str) -> bool:
    return "@" in address


def normalize_address(raw: str, *, default_region: str | None = None) -> str:
    """An email or a phone, whichever `raw` looks like."""
    if is_email(raw or ""):
        return normalize_email(raw)
    return normalize_phone(raw, default_region=default_region)


def region_for_country_code(code: str | None) -> str | None:
    """'+1' or '1' or 'US' → a phonenumbers region ('US'); None when unknown."""
    if not code:
        return None
    text = code.strip().upper()
    if text.isalpha() and len(text) == 2:
        return text
    digits = text.lstrip("+")
    if digits.isdigit():
        return phonenumbers.region_code_for_country_code(int(digits)) or None
    return None
