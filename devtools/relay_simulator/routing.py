"""Route tables, BlueBubbles auth, and Koa-like 404/405 behaviour."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from . import responses as r
from . import routes_api as api
from . import routes_send as send
from . import routes_sim as ctl
from .request import BodyError, Request
from .simulator import Simulator
from .validation import MissingRule

log = logging.getLogger("relay_simulator")

Handler = Callable[[Simulator, Request], r.Response | None]


@dataclass(frozen=True)
class Route:
    method: str
    regex: re.Pattern[str]
    handler: Handler


def _route(method: str, path: str, handler: Handler) -> Route:
    # `:name` matches one path segment, like koa-router / path-to-regexp.
    pattern = re.sub(r":(\w+)", r"(?P<\1>[^/]+)", path)
    return Route(method, re.compile(pattern), handler)


API_PREFIX = "/api/v1"
API_ROUTES = [
    _route("GET", "/ping", api.ping),
    _route("GET", "/server/info", api.server_info),
    _route("POST", "/message/text", send.send_text),
    _route("POST", "/message/attachment", send.send_attachment),
    _route("POST", "/message/multipart", send.send_multipart),
    _route("POST", "/attachment/upload", send.upload_attachment),
    _route("POST", "/message/query", api.query_messages),
    _route("GET", "/message/:guid", api.find_message),
    _route("GET", "/handle/availability/imessage", api.imessage_availability),
    _route("GET", "/handle/availability/facetime", api.facetime_availability),
    _route("GET", "/chat/:guid", api.find_chat),
    _route("GET", "/webhook", api.list_webhooks),
    _route("POST", "/webhook", api.create_webhook),
    _route("DELETE", "/webhook/:id", api.delete_webhook),
]

SIM_PREFIX = "/sim/v1"
SIM_ROUTES = [
    _route("GET", "/health", ctl.health),
    _route("POST", "/handles", ctl.add_handle),
    _route("GET", "/handles", ctl.list_handles),
    _route("POST", "/faults", ctl.add_fault),
    _route("GET", "/faults", ctl.list_faults),
    _route("DELETE", "/faults", ctl.clear_faults),
    _route("POST", "/inbound", ctl.inbound),
    _route("GET", "/sent", ctl.sent),
    _route("POST", "/reset", ctl.reset),
    _route("GET", "/events", ctl.events),
    _route("GET", "/availability", ctl.availability_log),
]


def check_auth(sim: Simulator, req: Request) -> r.Response | None:
    """authMiddleware: `guid ?? password ?? token` from the query string only, compared trimmed."""
    if sim.faults.auth_failure:
        return r.unauthorized()
    token: str | None = None
    for key in ("guid", "password", "token"):
        if key in req.query:
            token = req.query[key]
            break
    if not token:
        return r.unauthorized("Missing server password!")
    if token.strip() != sim.config.password.strip():
        return r.unauthorized()
    return None


def dispatch(sim: Simulator, req: Request) -> r.Response | None:
    path = req.path if req.path == "/" else req.path.rstrip("/")
    if path.startswith(API_PREFIX + "/"):
        routes, sub, is_api = API_ROUTES, path[len(API_PREFIX) :], True
    elif path.startswith(SIM_PREFIX + "/"):
        routes, sub, is_api = SIM_ROUTES, path[len(SIM_PREFIX) :], False
    else:
        return r.koa_not_found()

    matches = [(route, m) for route in routes if (m := route.regex.fullmatch(sub))]
    if not matches:
        return r.koa_not_found() if is_api else r.sim_error(404, f"No control endpoint {req.method} {path}")
    chosen = next(((route, m) for route, m in matches if route.method == req.method), None)
    if chosen is None:
        return r.koa_method_not_allowed([route.method for route, _ in matches])
    route, match = chosen
    req.params = {k: unquote(v) for k, v in match.groupdict().items()}

    if is_api:
        denied = check_auth(sim, req)
        if denied is not None:
            return denied
    try:
        return route.handler(sim, req)
    except (BodyError, MissingRule) as exc:
        return r.unhandled(str(exc))
    except Exception as exc:
        log.exception("relay-sim: %s %s crashed", req.method, path)
        return r.unhandled(f"Relay simulator error: {exc}")
