"""Do-not-contact list: addresses a workspace must never message again."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from leads.models import DncEntry
from tuco.addresses import InvalidAddress, is_email, normalize_address, normalize_email, normalize_phone
from tuco.body_fields import require_json_object
from tuco.db import insert_or_nothing
from tuco.errors import BadRequest, NotFound
from tuco.ids import is_object_id
from tuco.logging import get_logger
from tuco.models import Workspace

log = get_logger(__name__)

DNC_NOT_FOUND = "DNC entry not found"

OPT_OUT_KEYWORDS = ("STOP", "UNSUBSCRIBE", "OPT OUT", "REMOVE ME", "DO NOT CONTACT")
_OPT_OUT_WORDS = {tuple(keyword.split()) for keyword in OPT_OUT_KEYWORDS}
# Longer than any keyword: a reply longer than this once trimmed (whitespace, trailing
# "."/"!") is a sentence, not an opt-out, and is not looked at further.
MAX_OPT_OUT_CHARS = 64


def is_opt_out(text: str) -> bool:
    """A reply that is exactly one opt-out keyword (case-insensitive; surrounding whitespace and trailing
    "." / "!" ignored; the words of a keyword may be split by any whitespace).

    A tokenizing check, linear in the text: strip (C, one pass each), give up past MAX_OPT_OUT_CHARS, split
    into words. The regex it replaces backtracked quadratically on "STOP" + 40,000 spaces (4 s).
    """
    trimmed = (text or "").strip().rstrip(".!")
    if len(trimmed) > MAX_OPT_OUT_CHARS:
        return False
    words = trimmed.upper().split()
    return tuple(words) in _OPT_OUT_WORDS


def dnc_add(*, workspace: Workspace, address: str, reason: str = "manual", source_message_id: str = "") -> DncEntry:
    entry, _ = dnc_entry_add(workspace=workspace, address=normalize_address(address), reason=reason,
                             source_message_id=source_message_id)
    return entry


def dnc_entry_add(*, workspace: Workspace, address: str, reason: str = "manual",
                  source_message_id: str = "") -> tuple[DncEntry, bool]:
    """Put an already-normalized address on the list; (entry, created). An existing entry is kept as is."""
    for _ in range(3):
        candidate = DncEntry(workspace=workspace, address=address, reason=(reason or "manual")[:100],
                             source_message_id=source_message_id[:24])
        if insert_or_nothing(candidate):
            log.info("dnc.added", address=address, reason=candidate.reason, workspaceId=workspace.pk)
            return candidate, True
        existing = DncEntry.objects.filter(workspace=workspace, address=address).first()
        if existing is not None:
            return existing, False
    raise RuntimeError(f"DNC entry for {address} kept vanishing between insert and read")


def dnc_remove(*, workspace: Workspace, entry_id: str) -> None:
    deleted, _ = (DncEntry.objects.filter(workspace=workspace, pk=entry_id).delete()
                  if is_object_id(entry_id) else (0, {}))
    if not deleted:
        raise NotFound(DNC_NOT_FOUND)
    log.info("dnc.removed", dncId=entry_id, workspaceId=workspace.pk)


def parse_dnc_input(data: Any) -> tuple[str, str]:
    """POST /api/dnc body → (normalized address, reason). Phones without +country default to the US."""
    from leads.lead_fields import clean_text, phone_region

    require_json_object(data)
    given = {key: data.get(key) for key in ("phone", "email", "address") if data.get(key) not in (None, "")}
    if not given:
        raise BadRequest("phone or email is required", code="VALIDATION_ERROR")
    if len(given) > 1:
        raise BadRequest("Provide one of phone, email or address", code="VALIDATION_ERROR")
    key, raw = next(iter(given.items()))
    if not isinstance(raw, str) or len(raw) > 254:
        raise BadRequest(f"{key} must be a string of at most 254 characters", code="VALIDATION_ERROR")
    reason = data.get("reason")
    if reason is None or reason == "":
        reason = "manual"
    if not isinstance(reason, str) or len(reason) > 100:
        raise BadRequest("reason must be a string of at most 100 characters", code="VALIDATION_ERROR")
    region = phone_region(data.get("defaultCountryCode"))
    text = clean_text(raw).strip()
    as_email = key == "email" or (key == "address" and is_email(text))
    try:
        address = normalize_email(text) if as_email else normalize_phone(text, default_region=region)
    except InvalidAddress:
        if as_email:
            raise BadRequest(f"{key} must be a valid email address", code="INVALID_EMAIL")
        raise BadRequest(f"{key} must be a valid phone number, e.g. +19042956129 or (904) 295-6129",
                         code="INVALID_PHONE")
    return address, clean_text(reason.strip()) or "manual"


def dnc_blocked_address(*, workspace_id: str, addresses: Iterable[str]) -> str | None:
    """The first of `addresses` on the workspace's do-not-contact list, or None."""
    wanted = []
    for address in addresses:
        if not address:
            continue
        try:
            wanted.append(normalize_address(address))
        except InvalidAddress:
            continue
    if not wanted:
        return None
    return DncEntry.objects.filter(workspace_id=workspace_id, address__in=wanted).values_list(
        "address", flat=True).first()
