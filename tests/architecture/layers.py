"""The layers of docs/architecture.md, as data: every product module gets a rank; an import may only point
at a module of the same or a lower rank.

Rules are matched in order, first match wins. Interface modules (HTTP views, admin, URL confs, Celery
tasks, management commands) sit on top: they call into any layer and nothing calls into them.
"""

from __future__ import annotations

import re

INTERFACE = 100

# (rank, what it is, pattern over the dotted module name)
RULES: list[tuple[int, str, str]] = [
    (200, "development tools (not installed in production)", r"^devtools(\..*)?$"),
    (INTERFACE, "interface: views, API, admin, URLs, tasks, commands",
     r"(^|\.)(api|admin|urls|[a-z_]+_urls|[a-z_]+_api|views|tasks|management(\..*)?|apps)$"
     r"|^messaging\.(unibox|dashboard)(\..*)?$|^tuco\.(run|embedded|health|wsgi|asgi|test_settings|settings)$"),
    (INTERFACE, "interface: request/response schemas of the API", r"(^|\.)([a-z_]+_)?schemas$"),
    # 0 - the platform
    (0, "platform: ids, errors, logging, calendar, addresses, send errors, Celery app", r"^tuco(\.[a-z_]+)?$"),
    # 1 - outgoing webhooks
    (10, "outgoing webhooks", r"^tuco\.webhooks(\..*)?$|^webhooks(\..*)?$"),
    # 2 - leads
    (20, "leads, lists, do-not-contact", r"^leads(\..*)?$"),
    # 3 - lines (devices, capacity, relay client, SMTP transport) and the fallback providers
    (30, "lines: devices, capacity, relay client, availability, SMTP", r"^lines(\..*)?$"),
    (30, "providers: fallback config, Twilio / GHL / webhook", r"^fallback(\..*)?$"),
    # 4 - messaging's own records and read models
    (40, "messaging records and reads", r"^messaging\.(models|threads|personalize|dedup|documents|explain|selectors"
                                       r"|replies|webhook_events|send_input|signals|exports|reporting|metrics)$|^messaging\.attachments(\..*)?$"
                                       r"|^messaging$"),
    # 5 - the send path, one way: each module only calls the ones above it in this list
    (50, "send: the words (Block, Outcome, RetryPolicy)", r"^messaging\.send\.outcome$"),
    (51, "send: the broker's doorbell", r"^messaging\.send\.wake$"),
    (52, "send: SendAttempt rows", r"^messaging\.send\.attempts$"),
    (53, "send: the state machine (the only writer of Message)", r"^messaging\.send\.state$"),
    (54, "send: pacing (line choice, gates, queue)", r"^messaging\.send\.pacing$"),
    (55, "send: the claim", r"^messaging\.send\.claim$"),
    (56, "send: the fallback SMS", r"^messaging\.send\.fallback$"),
    (57, "send: channel interface", r"^messaging\.send\.channels\.base$"),
    (58, "send: channel helpers", r"^messaging\.send\.channels\.availability$"),
    (59, "send: channels", r"^messaging\.send\.channels\.(imessage|sms|email|forced_fallback)$"),
    (60, "send: channel choice", r"^messaging\.send\.channels$"),
    (61, "send: outcomes", r"^messaging\.send\.outcomes$"),
    (62, "send: the dispatch", r"^messaging\.send\.dispatcher$"),
    (63, "send: worker (enqueue, sweeps, stuck sends, inline send)", r"^messaging\.send\.worker$"),
    (49, "send: package", r"^messaging\.send$"),
    # 7 - what providers tell us, and the services the API and admin call
    (70, "inbound: normalized events, HTML to text", r"^messaging\.inbound\.(events|html_text)$"),
    (71, "inbound: provider payloads → events", r"^messaging\.inbound\.(bluebubbles|twilio|email)$"),
    (72, "inbound: events → rows", r"^messaging\.inbound\.(store|tracking)$"),
    (73, "inbound: receipt polling", r"^messaging\.inbound\.receipts$"),
    (69, "inbound: package", r"^messaging\.inbound$"),
    (80, "services: create, cancel, retry, forced fallback, replies", r"^messaging\.services(\..*)?$"),
    # 9 - campaigns: sequences built on the send path (they create messages, the send path signals them)
    (90, "campaigns", r"^campaigns(\..*)?$"),
]

_COMPILED = [(rank, label, re.compile(pattern)) for rank, label, pattern in RULES]


def rank_of(module: str) -> tuple[int, str]:
    for rank, label, pattern in _COMPILED:
        if pattern.search(module):
            return rank, label
    raise LookupError(f"{module}: no layer in tests/architecture/layers.py; add it there and to docs/architecture.md")
