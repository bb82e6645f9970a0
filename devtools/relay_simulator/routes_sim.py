"""Control API for tests and operators (`/sim/v1`, no auth). Shapes are fixed by docs/relay-simulator.md."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from . import responses as r
from .addresses import normalize_address
from .faults import FAULT_KINDS
from .request import Request
from .serializers import sim_view
from .simulator import Simulator


def _body(req: Request) -> dict[str, Any] | r.Response:
    if not req.body.strip():
        return {}
    try:
        value = json.loads(req.body)
    except ValueError as exc:
        return r.sim_error(400, f"Body is not valid JSON: {exc}")
    if not isinstance(value, dict):
        return r.sim_error(400, "Body must be a JSON object")
    return value


def _address(value: Any, field: str) -> str | r.Response:
    if not isinstance(value, str) or normalize_address(value) is None:
        return r.sim_error(400, f"'{field}' must be a phone number or an email address")
    return normalize_address(value) or value


def health(sim: Simulator, req: Request) -> r.Response:
    cfg = sim.config
    return r.json_response(
        200,
        {
            "status": "ok",
            "uptimeSeconds": round(time.time() - sim.started_at, 3),
            "config": {k: v for k, v in asdict(cfg).items() if k != "password"},
        },
    )


def add_handle(sim: Simulator, req: Request) -> r.Response:
    body = _body(req)
    if isinstance(body, r.Response):
        return body
    address = _address(body.get("address"), "address")
    if isinstance(address, r.Response):
        return address
    imessage = body.get("imessage", True)
    facetime = body.get("facetime", imessage)
    if not isinstance(imessage, bool) or not isinstance(facetime, bool):
        return r.sim_error(400, "'imessage' and 'facetime' must be booleans")
    sim.store.set_capability(address, imessage, facetime)
    return r.json_response(200, {"data": {"address": address, "imessage": imessage, "facetime": facetime}})


def list_handles(sim: Simulator, req: Request) -> r.Response:
    with sim.store.lock:
        rows = [{"address": a, **asdict(c)} for a, c in sim.store.capabilities.items()]
    return r.json_response(200, {"data": rows})


def add_fault(sim: Simulator, req: Request) -> r.Response:
    body = _body(req)
    if isinstance(body, r.Response):
        return body
    kind = body.get("kind")
    if kind not in FAULT_KINDS:
        return r.sim_error(400, f"'kind' must be one of: {', '.join(FAULT_KINDS)}")
    times = body.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        return r.sim_error(400, "'times' must be an integer >= 1")
    address: str | None = None
    if body.get("address") is not None:
        checked = _address(body["address"], "address")
        if isinstance(checked, r.Response):
            return checked
        address = checked
    fault = sim.faults.add(kind, times, address)
    return r.json_response(200, {"data": {"id": fault.id, "kind": kind, "times": times, "address": address}})


def list_faults(sim: Simulator, req: Request) -> r.Response:
    return r.json_response(200, {"data": sim.faults.snapshot()})


def clear_faults(sim: Simulator, req: Request) -> r.Response:
    sim.faults.clear()
    return r.json_response(200, {"data": sim.faults.snapshot()})


def inbound(sim: Simulator, req: Request) -> r.Response:
    body = _body(req)
    if isinstance(body, r.Response):
        return body
    sender = _address(body.get("from"), "from")
    if isinstance(sender, r.Response):
        return sender
    text = body.get("text")
    if not isinstance(text, str):
        return r.sim_error(400, "'text' must be a string")
    to = body.get("to")
    if to is not None:
        checked = _address(to, "to")
        if isinstance(checked, r.Response):
            return checked
        to = checked
    msg = sim.receive(sender, text, to)
    with sim.store.lock:
        view = sim_view(msg)
    return r.json_response(200, {"data": view})


def sent(sim: Simulator, req: Request) -> r.Response:
    wanted = normalize_address(req.query["address"]) if req.query.get("address") else None
    with sim.store.lock:
        rows = [sim_view(m) for m in sim.store.outgoing() if wanted is None or m.chat.identifier == wanted]
    return r.json_response(200, {"data": rows})


def reset(sim: Simulator, req: Request) -> r.Response:
    body = _body(req)
    if isinstance(body, r.Response):
        return body
    drop_webhooks = body.get("webhooks") is True
    sim.reset(webhooks=drop_webhooks)
    return r.json_response(200, {"data": {"reset": True, "webhooksKept": not drop_webhooks}})


def events(sim: Simulator, req: Request) -> r.Response:
    return r.json_response(200, {"data": sim.dispatcher.events()})


def availability_log(sim: Simulator, req: Request) -> r.Response:
    with sim.store.lock:
        rows = list(sim.store.availability_log)
    return r.json_response(200, {"data": rows})
