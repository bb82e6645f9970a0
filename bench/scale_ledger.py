"""The scale-out benchmark's checks: what the relay simulators hold (their ledgers) against the database.

A device row is attributed to its send by its tempGuid, which Tuco makes `tuco-<messageId>-<attempt>` and,
for a message of several parts, suffixes with the part (`-attachment:0`, `-text`); the attempt's row
(`messaging_sendattempt.temp_guid`) says which line sent it. Only rows the device really sent count
(`error` 0).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import requests

from bench.common import connect

DONE = ("sent", "delivered")


@dataclass
class LedgerCheck:
    messages_in_db: int = 0
    accepted: int = 0
    sent_in_db: int = 0
    lost: list[str] = field(default_factory=list)  # accepted, not sent/delivered in the database
    missing_on_device: list[str] = field(default_factory=list)  # sent in the database, nothing on a device
    duplicated: list[str] = field(default_factory=list)  # a part on the devices more than once
    device_sent_db_not: list[str] = field(default_factory=list)  # on a device, but not sent in the database
    attachment_mismatch: list[str] = field(default_factory=list)  # missing part or wrong size
    exactly_once: int = 0
    device_rows: int = 0
    attachments_sent: int = 0
    gap_ms: int = 0
    min_gap_ms_by_line: dict[str, int] = field(default_factory=dict)  # on the device
    min_claim_gap_ms: int | None = None  # between the claims (the database's clock) of those sends
    pacing_violations: int = 0
    violations: list[dict[str, Any]] = field(default_factory=list)  # the two sends of each, to look into

    @property
    def exactly_once_ok(self) -> bool:
        return (self.exactly_once == self.accepted == self.messages_in_db and not self.lost and not self.duplicated
                and not self.missing_on_device and not self.device_sent_db_not and not self.attachment_mismatch)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("lost", "missing_on_device", "duplicated", "device_sent_db_not", "attachment_mismatch"):
            data[f"{name}_count"] = len(data[name])
            data[name] = data[name][:20]  # a sample is enough to look into
        gaps = list(self.min_gap_ms_by_line.values())
        data["min_gap_ms"] = min(gaps) if gaps else None
        data["exactly_once_ok"] = self.exactly_once_ok
        data["pacing_ok"] = self.pacing_violations == 0
        return data

    @staticmethod
    def print_json(data: dict[str, Any]) -> None:
        ok = "OK" if data["exactly_once_ok"] else "FAILED"
        print(f"  exactly once: {ok}: {data['accepted']} accepted, {data['messages_in_db']} rows in the database, "
              f"{data['sent_in_db']} sent/delivered, {data['exactly_once']} on a device exactly once "
              f"({data['device_rows']} device rows, {data['attachments_sent']} attachments)")
        for name in ("lost", "missing_on_device", "duplicated", "device_sent_db_not", "attachment_mismatch"):
            if data[f"{name}_count"]:
                print(f"    {name}: {data[f'{name}_count']} e.g. {data[name][:5]}")
        pacing = "OK" if data["pacing_ok"] else f"VIOLATED {data['pacing_violations']} time(s)"
        if data["gap_ms"]:
            print(f"  pacing: {pacing}: configured gap {data['gap_ms']} ms, smallest observed gap between two "
                  f"sends on one line {data['min_gap_ms']} ms (per line: "
                  f"{sorted(data['min_gap_ms_by_line'].values())}); smallest gap between the claims of "
                  f"those sends (the database's clock) {data['min_claim_gap_ms']} ms")
            for violation in data["violations"][:5]:
                print(f"    {json.dumps(violation)}")


def device_rows(sims: list[str]) -> list[dict[str, Any]]:
    rows = []
    for url in sims:
        response = requests.get(f"{url}/sim/v1/sent", timeout=60)
        response.raise_for_status()
        rows += [r for r in response.json()["data"] if r.get("isFromMe") and r.get("error") == 0 and r.get("tempGuid")]
    return rows


def _attempt_guid(temp_guid: str) -> tuple[str, str]:
    """('tuco-<id>-<n>', part) from a device row's tempGuid."""
    prefix, _, rest = temp_guid.partition("-")
    message_id, _, rest = rest.partition("-")
    number, _, part = rest.partition("-")
    return f"{prefix}-{message_id}-{number}", part or "text"


def check_ledger(database_url: str, sims: list[str], batch_id: str, *, gap_seconds: int,
                 expected_ids: set[str] | None = None, upload_sizes: dict[str, int] | None = None) -> LedgerCheck:
    with connect(database_url) as db:
        messages = {row[0]: {"status": row[1], "attachments": row[2] or []} for row in db.execute(
            "SELECT id, status, attachment_urls FROM messaging_message WHERE batch_id = %s", [batch_id]).fetchall()}
        attempts = {row[0]: {"line": row[1], "claimedAt": row[2], "outcome": row[3]} for row in db.execute(
            "SELECT a.temp_guid, a.line_id, (extract(epoch FROM a.started_at) * 1000)::bigint, a.outcome "
            "FROM messaging_sendattempt a "
            "JOIN messaging_message m ON m.id = a.message_id WHERE m.batch_id = %s AND a.temp_guid <> ''",
            [batch_id]).fetchall()}
    expected = expected_ids if expected_ids is not None else set(messages)
    check = LedgerCheck(messages_in_db=len(messages), accepted=len(expected), gap_ms=gap_seconds * 1000)
    check.sent_in_db = sum(m["status"] in DONE for m in messages.values())
    check.lost = sorted(i for i in expected if messages.get(i, {}).get("status") not in DONE)

    parts: dict[str, list[dict[str, Any]]] = defaultdict(list)  # message id -> its device rows
    first_send: dict[str, tuple[int, str, str]] = {}  # message id -> (first device time, line, attempt)
    for row in device_rows(sims):
        attempt, part = _attempt_guid(row["tempGuid"])
        message_id = attempt.split("-")[1]
        if message_id not in messages:
            continue
        check.device_rows += 1
        parts[message_id].append({**row, "part": part})
        line = str(attempts.get(attempt, {}).get("line", "?"))
        if message_id not in first_send or row["dateCreated"] < first_send[message_id][0]:
            first_send[message_id] = (row["dateCreated"], line, attempt)

    for message_id, message in messages.items():
        rows = parts.get(message_id, [])
        texts = [r for r in rows if r["part"] == "text"]
        files = [r for r in rows if r["part"].startswith("attachment")]
        check.attachments_sent += len(files)
        if message["status"] in DONE and not rows:
            check.missing_on_device.append(message_id)
        if rows and message["status"] not in DONE:
            check.device_sent_db_not.append(message_id)
        if len(texts) > 1 or len(files) > len(message["attachments"]):
            check.duplicated.append(message_id)
        sizes = [a["size"] for r in files for a in r["attachments"]]
        wanted = [(upload_sizes or {}).get(url) for url in message["attachments"]]
        if message["status"] in DONE and (len(files) != len(wanted) or (
                upload_sizes is not None and sorted(sizes) != sorted(w or -1 for w in wanted))):
            check.attachment_mismatch.append(message_id)
        if (message["status"] in DONE and len(texts) == 1 and len(files) == len(message["attachments"])
                and message_id in expected):
            check.exactly_once += 1

    by_line: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for at, line, attempt in first_send.values():
        by_line[line].append((at, attempt))
    for line, sends in by_line.items():
        sends.sort()
        pairs = list(zip(sends, sends[1:], strict=False))
        if not pairs:
            continue
        check.min_gap_ms_by_line[line] = min(b[0] - a[0] for a, b in pairs)
        claims = sorted(attempts[guid]["claimedAt"] for _, guid in sends if guid in attempts)
        claim_gaps = [b - a for a, b in zip(claims, claims[1:], strict=False)]
        if claim_gaps:
            check.min_claim_gap_ms = min([*claim_gaps, *([check.min_claim_gap_ms] if check.min_claim_gap_ms else [])])
        for a, b in pairs:
            if gap_seconds and b[0] - a[0] < check.gap_ms:
                check.pacing_violations += 1
                check.violations.append({"line": line, "gapMs": b[0] - a[0], "sends": [
                    {"attempt": guid, "deviceAt": at, "parts": [r["part"] for r in parts[guid.split("-")[1]]],
                     **attempts.get(guid, {})} for at, guid in (a, b)]})
    check.violations.sort(key=lambda v: v["gapMs"])
    return check


if __name__ == "__main__":  # python -m bench.scale_ledger DATABASE_URL BATCH_ID SIM_URL... (to look again)
    import sys

    found = check_ledger(sys.argv[1], sys.argv[3:], sys.argv[2], gap_seconds=0)
    print(json.dumps(found.as_json(), indent=2))
