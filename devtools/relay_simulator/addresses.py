"""Addresses and DM chat GUIDs, normalised roughly like BlueBubbles' getiMessageAddressFormat."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

# Prefixes accepted on `<prefix>;-;<address>`; the key is matched case-insensitively.
_PREFIXES = {"imessage": "iMessage", "sms": "SMS", "any": "any"}
_DM = re.compile(r"^(?P<prefix>[^;]+);-;(?P<address>.+)$")


@dataclass(frozen=True)
class DmTarget:
    prefix: str  # "iMessage" | "SMS" | "any"
    address: str  # normalised: E.164 phone, lower-case email or a short code

    @property
    def service(self) -> str:
        """The service the Mac would use; `any` (Tahoe) still sends over iMessage."""
        return "SMS" if self.prefix == "SMS" else "iMessage"


def normalize_address(raw: str) -> str | None:
    """E.164 for phones (US default region, like a Mac set to the US), lower-case for emails.

    A leading space is what a raw `+` becomes after query-string decoding; like the real server we
    drop it and re-add the country code instead of failing.
    """
    s = raw.strip()
    if "%" in s:
        s = unquote(s).strip()
    if not s:
        return None
    if "@" in s:
        return s.lower()
    digits = re.sub(r"\D", "", s)
    if not digits:
        return None
    if s.startswith("+"):
        return "+" + digits
    if len(digits) <= 6:  # carrier short code: no country code
        return digits
    if len(digits) == 10:
        return "+1" + digits
    return "+" + digits


def parse_dm_chat_guid(guid: str) -> DmTarget | None:
    """`iMessage;-;+1555…`, `SMS;-;…`, `any;-;…` -> DmTarget; groups and junk -> None."""
    s = guid.strip()
    if "%" in s:
        s = unquote(s)
    match = _DM.match(s)
    if not match:
        return None
    prefix = _PREFIXES.get(match["prefix"].strip().lower())
    address = normalize_address(match["address"])
    if prefix is None or address is None:
        return None
    return DmTarget(prefix=prefix, address=address)
