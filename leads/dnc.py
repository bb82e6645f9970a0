"""Do-not-contact list: addresses a workspace must never message again."""

from __future__ import annotations

import re
from collections.abc import Iterable

from leads.models import DncEntry
from tuco.addresses import InvalidAddress, normalize_address
from tuco.logging import get_logger
from tuco.models import Workspace

log = get_logger(__name__)

OPT_OUT_KEYWORDS = ("STOP", "UNSUBSCRIBE", "OPT OUT", "REMOVE ME", "DO NOT CONTACT")
_OPT_OUT_RE = re.compile(r"^\s*(" + "|".join(re.escape(k) for k in OPT_OUT_KEYWORDS) + r")\s*[.!]*\s*$",
                         re.IGNORECASE)


def is_opt_out(text: str) -> bool:
    """A reply that is exactly one opt-out keyword (case-insensitive, surrounding punctuation ignored)."""
    return bool(_OPT_OUT_RE.match(text or ""))


def dnc_add(*, workspace: Workspace, address: str, reason: str = "manual", source_message_id: str = "") -> DncEntry:
    normalized = normalize_address(address)
    entry, created = DncEntry.objects.get_or_create(
        workspace=workspace, address=normalized,
        defaults={"reason": reason[:100], "source_message_id": source_message_id},
    )
    if created:
        log.info("dnc.added", address=normalized, reason=reason, workspaceId=workspace.pk)
    return entry


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
