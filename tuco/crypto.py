"""Secrets at rest: third-party credentials are stored as Fernet tokens (cryptography's AES-128-CBC + HMAC).

Keys come from `TUCO_ENCRYPTION_KEYS`: comma-separated Fernet keys; the first encrypts, every one
decrypts (MultiFernet), so a key is rotated by putting the new one first, restarting, running
`manage.py rotate_encryption_keys`, then dropping the old one (docs/encryption.md).

Without the variable, production (DEBUG false, engines given by DATABASE_URL) refuses to start, as
a deployment with no key would otherwise write secrets no one can read back. Dev mode (DEBUG true,
or the embedded engines of a bare `manage.py`) and `make run` use a random key generated once into
`var/dev-encryption-key` (mode 600), so dev data stays readable across runs; the tests set a fixed
test-only key (tuco/test_settings.py).

A value no configured key opens raises `DecryptionError`: a wrong key, a missing rotation key or a
row written in plaintext behind our back fails loudly instead of handing out garbage.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured

ENV_VAR = "TUCO_ENCRYPTION_KEYS"


class DecryptionError(Exception):
    """A stored secret that none of the configured keys opens. The message never carries the value."""


def parse_keys(raw: str) -> list[str]:
    """The keys of a `TUCO_ENCRYPTION_KEYS` value, each checked to be a Fernet key (never echoed)."""
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    for index, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"{ENV_VAR}: key #{index} is not a Fernet key (32 url-safe base64-encoded bytes; make one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            ) from None
    return keys


def dev_key(path: Path) -> str:
    """The dev key kept in `path`, generated (mode 600) on first use; stable while var/ lives."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of `make run` won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def keys_from_environment(raw: str, *, dev_mode: bool, dev_key_path: Path) -> list[str]:
    """Settings' reading of TUCO_ENCRYPTION_KEYS: the configured keys, the dev key in dev mode, else refuse."""
    if raw.strip():
        return parse_keys(raw)
    if dev_mode:
        return [dev_key(dev_key_path)]
    raise ImproperlyConfigured(
        f"{ENV_VAR} is required when DEBUG is false: comma-separated Fernet keys, the first encrypts "
        "(see docs/encryption.md)")


_cache: tuple[tuple[str, ...], MultiFernet, Fernet] | None = None


def _ciphers() -> tuple[MultiFernet, Fernet]:
    """(all keys, the primary key). Rebuilt whenever the setting changes (override_settings in tests)."""
    global _cache
    from django.conf import settings

    keys = tuple(getattr(settings, "TUCO_ENCRYPTION_KEYS", ()) or ())
    cached = _cache
    if cached is not None and cached[0] == keys:
        return cached[1], cached[2]
    if not keys:
        raise ImproperlyConfigured(f"no encryption key configured ({ENV_VAR})")
    fernets = [Fernet(key) for key in keys]
    _cache = (keys, MultiFernet(fernets), fernets[0])
    return _cache[1], _cache[2]


def _fernet() -> MultiFernet:
    return _ciphers()[0]


def encrypt(plaintext: str) -> str:
    """A Fernet token (ASCII) of `plaintext` under the primary key."""
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise DecryptionError(
            f"a stored secret cannot be decrypted with any key in {ENV_VAR} (wrong or missing key, "
            "or a value that was never encrypted)") from None


def is_readable(value: str) -> bool:
    """True when `value` is a token one of our keys opens (the data migration skips those)."""
    try:
        decrypt(value)
    except DecryptionError:
        return False
    return True


def rotate(token: str) -> str:
    """The same secret re-encrypted under the primary key (raises DecryptionError like `decrypt`)."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise DecryptionError(
            f"a stored secret cannot be decrypted with any key in {ENV_VAR}; add the key it was written "
            "with (after the primary) and rotate again") from None


def primary_opens(token: str) -> bool:
    """True when the primary key alone opens `token`: it needs no rotation."""
    try:
        _ciphers()[1].decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True
