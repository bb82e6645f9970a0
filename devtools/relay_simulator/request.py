"""The parsed HTTP request handed to route functions, with koa-body-like body parsing."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .multipart import MultipartError, UploadedFile, parse_form_data


class BodyError(Exception):
    """koa-body could not parse the body; ErrorMiddleware makes that a 500, not a 400."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    is_disconnected: Callable[[], bool] = lambda: False
    params: dict[str, str] = field(default_factory=dict)
    _parsed: tuple[Any, dict[str, UploadedFile]] | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def parse(self) -> tuple[Any, dict[str, UploadedFile]]:
        """(body, files). JSON, urlencoded and multipart like koa-body; anything else is `{}`."""
        if self._parsed is None:
            self._parsed = self._parse()
        return self._parsed

    def _parse(self) -> tuple[Any, dict[str, UploadedFile]]:
        ctype = self.content_type.lower()
        raw = self.body
        if "multipart/form-data" in ctype:
            try:
                fields, files = parse_form_data(self.content_type, raw)
            except MultipartError as exc:
                raise BodyError(str(exc)) from exc
            return fields, files
        if "application/x-www-form-urlencoded" in ctype:
            form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
            return {k: v[0] if len(v) == 1 else v for k, v in form.items()}, {}
        stripped = raw.strip()
        # koa-body only parses JSON when told so; being lenient with a missing content type costs nothing.
        if "json" in ctype or (not ctype and stripped[:1] in (b"{", b"[")):
            if not stripped:
                return {}, {}
            try:
                value = json.loads(stripped)
            except ValueError as exc:
                raise BodyError(str(exc)) from exc
            if not isinstance(value, dict | list):
                raise BodyError("invalid JSON, only supports object and array")
            return value, {}
        return {}, {}

    def json_object(self) -> dict[str, Any]:
        """The body as a dict; a list or scalar body validates as an empty object (validatorjs)."""
        body, _ = self.parse()
        return body if isinstance(body, dict) else {}
