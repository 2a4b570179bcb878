"""Checks the fake Vimeo's answers against Vimeo's OpenAPI document, so the fake cannot
drift from the real API.

Each JSON answer is validated by openapi-core as the answer of its operation (path, method,
status, media type). Two cases the document leaves out are checked against its schemas
directly: the paged envelope of collections (the document models the ``data`` array only;
each item is checked as a ``video``), and the statuses an operation does not list (429,
503, 401 on most paths), whose bodies must be Vimeo's ``error`` object.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_schema_validator import OAS30Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.plugins.videotheque.fake_vimeo import Exchange, load_contract

HOST = "https://api.vimeo.com"
ENVELOPE = {"total", "page", "per_page", "paging", "data"}


@functools.cache
def _spec() -> tuple[OpenAPI, dict[str, Any]]:
    document = load_contract()
    # The document fails its own meta-schema in places unrelated to us (an operation
    # without responses): validate answers against it, not the document itself.
    # openapi-core reads application/json only; Vimeo's vendor types are JSON too.
    vendor = {
        media: json.loads
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for answer in operation.get("responses", {}).values()
        for media in answer.get("content", {})
        if media.endswith("+json")
    }
    config = Config(spec_validator_cls=None, extra_media_type_deserializers=vendor)
    return OpenAPI.from_dict(document, config=config), document


@dataclass
class _Request:
    path: str
    method: str
    host_url: str = HOST
    content_type: str = "application/json"
    body: bytes | None = None

    @property
    def full_url_pattern(self) -> str:
        return HOST + self.path

    @property
    def parameters(self) -> RequestParameters:
        return RequestParameters(
            query=ImmutableMultiDict(), header=Headers(), cookie=ImmutableMultiDict()
        )


@dataclass
class _Response:
    status_code: int
    content_type: str
    data: bytes
    headers: Headers


def _documented_statuses(document: dict[str, Any], exchange: Exchange) -> set[str]:
    for template, item in document["paths"].items():
        if _matches(template, exchange.path):
            operation = item.get(exchange.method.lower()) or {}
            return set(operation.get("responses", {}))
    return set()


def _matches(template: str, path: str) -> bool:
    want, got = template.strip("/").split("/"), path.strip("/").split("/")
    return len(want) == len(got) and all(
        w == g or (w.startswith("{") and w.endswith("}")) for w, g in zip(want, got, strict=True)
    )


def validate(exchange: Exchange) -> None:
    """Raise if ``exchange`` is not an answer Vimeo's document allows."""
    api, document = _spec()
    schemas = document["components"]["schemas"]
    body = exchange.body
    status = exchange.status
    if (exchange.method, exchange.path, status) == ("POST", "/me/videos", 200):
        status = 201  # documented as 201, answered as 200 by Vimeo (see vimeo.md): same body
    if isinstance(body, dict) and body.keys() >= ENVELOPE:
        assert isinstance(body["paging"], dict) and {"next", "previous"} <= body["paging"].keys()
        body = body["data"]
    if str(status) not in _documented_statuses(document, exchange):
        OAS30Validator({**schemas["error"], "components": {"schemas": schemas}}).validate(body)
        return
    api.validate_response(
        _Request(exchange.path, exchange.method.lower()),
        _Response(status, exchange.content_type, json.dumps(body).encode(), Headers()),
    )


def validate_all(exchanges: list[Exchange]) -> int:
    """Validate every exchange; returns how many were checked."""
    for exchange in exchanges:
        try:
            validate(exchange)
        except Exception as exc:
            raise AssertionError(
                f"{exchange.method} {exchange.path} -> {exchange.status}: {exc}"
            ) from exc
    return len(exchanges)
