"""What every JSON API endpoint shares, core and plugins alike: errors as
``application/problem+json`` (RFC 9457), page pagination with a ``Link`` header, ``ETag`` and
``If-None-Match`` on reads, and the OpenAPI 3.1 document built from the code.

An endpoint declares itself with :func:`operation` (summary, response model, pagination),
beside its access decorator from ``core.rights``; the document at ``/api/v1/openapi.json``
is assembled from the URL map and these declarations, the schemas from the pydantic models
(JSON Schema 2020-12, the dialect of OpenAPI 3.1). An endpoint that declares nothing is not
documented, and a test fails on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Flask, Response, current_app, json, request
from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema
from sqlalchemy import Select, func, select

from core import __version__
from core.db import MAX_ID, MAX_PAGE, db
from core.rights import access_of

PROBLEM_TYPE = "application/problem+json"
API_PREFIX = "/api/v1"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200

View = TypeVar("View", bound=Callable[..., Any])


class Schema(BaseModel):
    """Base of the API's response models: read from ORM objects or dicts."""

    model_config = ConfigDict(from_attributes=True)


class Problem(Schema):
    """An error (RFC 9457). ``title`` is short and in the person's language (French by
    default); ``detail`` says what to do."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None


@dataclass(frozen=True)
class Operation:
    summary: str
    response: type[BaseModel] | None = None
    many: bool = False
    paginated: bool = False
    tags: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: int = 200


OPERATION_ATTRIBUTE = "_viatic_operation"


def operation(
    summary: str,
    *,
    response: type[BaseModel] | None = None,
    many: bool = False,
    paginated: bool = False,
    tags: Sequence[str] = (),
    scopes: Sequence[str] = (),
    query: dict[str, dict[str, Any]] | None = None,
    status: int = 200,
) -> Callable[[View], View]:
    """Declare a JSON endpoint for the OpenAPI document. ``response`` is the model of the
    body (a list of them when ``many``; ``paginated`` lists take ``page``/``per_page``);
    ``scopes`` are the OAuth2 scopes a token needs; ``query`` documents other parameters
    as JSON Schemas by name."""
    declared = Operation(
        summary,
        response,
        many or paginated,
        paginated,
        tuple(tags),
        tuple(scopes),
        dict(query or {}),
        status,
    )

    def decorator(view: View) -> View:
        setattr(view, OPERATION_ATTRIBUTE, declared)
        return view

    return decorator


def operation_of(view: Callable[..., Any]) -> Operation | None:
    return getattr(view, OPERATION_ATTRIBUTE, None)


# --- Answers --------------------------------------------------------------------------------------


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """An error answer. ``extensions`` are members of the problem a client can act on, e.g.
    ``field`` for the form field at fault."""
    body = Problem(title=title, status=status, detail=detail).model_dump(exclude_none=True)
    body.update({k: v for k, v in extensions.items() if v is not None})
    return current_app.response_class(
        json.dumps(body), status=status, mimetype=PROBLEM_TYPE, headers=headers or {}
    )


def respond(data: Any, *, status: int = 200) -> Response:
    """A JSON answer; reads get an ETag and a 304 when the client has the same already."""
    response = current_app.response_class(
        json.dumps(data), status=status, mimetype="application/json"
    )
    if request.method in ("GET", "HEAD") and status == 200:
        response.add_etag()
        response.make_conditional(request)
    return response


def dump(model: type[BaseModel], items: Any) -> Any:
    """ORM objects (or dicts) through ``model``, to JSON-ready values."""
    if isinstance(items, list | tuple):
        return [model.model_validate(item).model_dump(mode="json") for item in items]
    return model.model_validate(items).model_dump(mode="json")


@dataclass
class Page:
    number: int
    per_page: int
    total: int
    items: list[Any]


def page_arguments() -> tuple[int, int]:
    """``page`` (from 1) and ``per_page`` (1 to 200) of the query string; a bad value is a
    400 that says which."""
    from core.views import refuse  # core.views builds on this module

    values = []
    for name, default, high in (
        ("page", 1, MAX_PAGE),
        ("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE),
    ):
        raw = request.args.get(name, str(default))
        if not raw.isdigit() or not 1 <= int(raw) <= high:
            refuse(_("« %(name)s » doit être un entier entre 1 et %(high)d.", name=name, high=high))
        values.append(int(raw))
    return values[0], values[1]


def paginate(query: Select[Any], scalars: bool = True) -> Page:
    number, per_page = page_arguments()
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    window = query.limit(per_page).offset((number - 1) * per_page)
    rows = list(db.scalars(window) if scalars else db.execute(window))
    return Page(number, per_page, total, rows)


def respond_page(page: Page, data: list[Any]) -> Response:
    """The page's items as a JSON array, the total in ``X-Total-Count`` and the links to
    the first, previous, next and last pages in ``Link`` (RFC 8288)."""
    response = respond(data)
    last = max(1, -(-page.total // page.per_page))
    links = {"first": 1, "last": last}
    if page.number > 1:
        links["prev"] = min(page.number - 1, last)
    if page.number < last:
        links["next"] = page.number + 1
    response.headers["Link"] = ", ".join(
        f'<{_page_url(number, page.per_page)}>; rel="{rel}"' for rel, number in links.items()
    )
    response.headers["X-Total-Count"] = str(page.total)
    return response


def _page_url(number: int, per_page: int) -> str:
    args = request.args.to_dict()
    args.update(page=str(number), per_page=str(per_page))
    return f"{request.base_url}?{urlencode(args)}"


# --- The OpenAPI document -------------------------------------------------------------------------

_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def openapi_document(app: Flask) -> dict[str, Any]:
    """OpenAPI 3.1 for every declared endpoint under ``/api/v1``."""
    paths: dict[str, dict[str, Any]] = {}
    models: set[type[BaseModel]] = {Problem}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX):
            continue
        view = app.view_functions[rule.endpoint]
        declared = operation_of(view)
        if declared is None:
            continue
        if declared.response is not None:
            models.add(declared.response)
        path, parameters = _path_and_parameters(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation_object(
                rule.endpoint, declared, parameters, view
            )
    _, definitions = models_json_schema(
        [(model, "serialization") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Viatic",
            "version": __version__,
            "description": "L'API de Viatic, le portail des élus locaux : les communes, les "
            "membres, les modules et les notifications de la personne connectée.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Jeton OAuth2 d'une application, ou jeton personnel.",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "viatic_session"},
            },
        },
    }


def _path_and_parameters(rule: str) -> tuple[str, list[dict[str, Any]]]:
    parameters = []

    def replace(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        schema: dict[str, Any] = (
            {"type": "integer", "minimum": 0, "maximum": MAX_ID}
            if converter == "int"
            else {"type": "string"}
        )
        if name == "insee":
            schema = {"type": "string", "pattern": "^[0-9][0-9AB][0-9]{3}$"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _CONVERTER.sub(replace, rule), parameters


def _operation_object(
    endpoint: str, declared: Operation, parameters: list[dict[str, Any]], view: Any
) -> dict[str, Any]:
    problem_ref = {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    responses: dict[str, Any] = {}
    if declared.response is not None:
        item = {"$ref": f"#/components/schemas/{declared.response.__name__}"}
        schema = {"type": "array", "items": item} if declared.many else item
        responses[str(declared.status)] = {
            "description": declared.summary,
            "content": {"application/json": {"schema": schema}},
        }
        if declared.paginated:
            responses[str(declared.status)]["headers"] = {
                "Link": {"schema": {"type": "string"}, "description": "RFC 8288"},
                "X-Total-Count": {"schema": {"type": "string", "pattern": "^[0-9]+$"}},
            }
    else:
        responses[str(declared.status)] = {"description": declared.summary}
    access = access_of(view)
    errors = {"400": "Demande incorrecte", "404": "Introuvable"}
    if access is None or access.kind != "public":
        errors |= {"401": "Connexion nécessaire", "403": "Accès refusé"}
    for status, description in errors.items():
        responses[status] = {"description": description, "content": problem_ref}
    query = list(parameters)
    if declared.paginated:
        query += [
            {
                "name": "page",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            },
            {
                "name": "per_page",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            },
        ]
    query += [{"name": k, "in": "query", "schema": v} for k, v in declared.query.items()]
    result: dict[str, Any] = {
        "operationId": endpoint.replace(".", "_"),
        "summary": declared.summary,
        "tags": list(declared.tags),
        "parameters": query,
        "responses": responses,
    }
    if access is None or access.kind != "public":
        result["security"] = [{"bearer": list(declared.scopes)}, {"session": []}]
    return result
