"""The HTTP edge: one registry of operations that parses, authenticates, maps errors and
documents itself as OpenAPI.

Every route of app.py is declared through `RouteRegistry.route`, which
- authenticates the bearer token and checks the role (unless the route is public or has
  its own scheme, like SNAP and webhooks),
- parses the raw body (malformed JSON -> 400 MALFORMED_JSON) and validates it, and the
  query string, with the same pydantic models that the OpenAPI document is generated from,
- maps every error to `{"error": {"code", "message"}}` in this one place.

Chalice catches exceptions inside views before any middleware sees them, so the mapping
lives in the view wrapper; `normalize_chalice_errors` rewrites the few answers Chalice makes
itself (405, 415, its 500) into the same shape.
"""
from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from pydantic import BaseModel, RootModel, ValidationError

from .auth import Principal, Role
from .errors import BadRequest, SmileError, ValidationFailed

log = logging.getLogger("smile.http")

PUBLIC = "PUBLIC"          # no token (health, OpenAPI, quote calculator)
OWN_SCHEME = "OWN_SCHEME"  # authenticated by the route itself (SNAP, webhooks)
AUTHENTICATED = "AUTHENTICATED"


@dataclass
class Operation:
    method: str
    path: str
    name: str
    summary: str
    auth: Any
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    tags: tuple[str, ...] = ()
    content_types: tuple[str, ...] = ("application/json",)


@dataclass
class Call:
    """What a view receives: who calls, the validated body and query, the raw request."""

    principal: Principal | None
    body: Any
    query: Any
    path: dict[str, str]
    headers: Mapping[str, str]
    raw_body: bytes
    query_params: Mapping[str, str] = field(default_factory=dict)


class Reply:
    """A view result with a non-default status or headers."""

    def __init__(self, body: Any, status: int = 200, headers: dict[str, str] | None = None):
        self.body, self.status, self.headers = body, status, headers or {}


def error_response(status: int, code: str, message: str, extra: dict | None = None):
    from chalice import Response

    body = {"error": {"code": code, "message": message, **(extra or {})}}
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def _field_path(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc if not str(part).startswith("function-"))


def validation_error_response(exc: ValidationError, where: str):
    first = exc.errors(include_url=False)[0]
    fieldname = _field_path(first.get("loc", ()))
    message = first.get("msg", "invalid value")
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    details = [
        {"field": _field_path(err.get("loc", ())), "message": err.get("msg", "")}
        for err in exc.errors(include_url=False)
    ]
    text = f"{fieldname}: {message}" if fieldname else message
    return error_response(400, "VALIDATION_FAILED", text,
                          {"field": fieldname or where, "details": details})


def parse_json(raw: bytes | None) -> Any:
    if raw is None or raw.strip() == b"":
        raise BadRequest("request body is empty; JSON expected", code="MALFORMED_JSON")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}", code="MALFORMED_JSON") from exc


# Every operation of every registry (app.py's and each context's blueprint), for OpenAPI.
OPERATIONS: list[Operation] = []


def authenticate_bearer(header: str | None) -> Principal:
    from chalicelib.bootstrap import container

    return container().verifier.verify(header)


class RouteRegistry:
    """Routes of one Chalice app or Blueprint (each context has its blueprint)."""

    def __init__(self, app, authenticate: Callable[[str | None], Principal] = authenticate_bearer):
        self._app = app
        self._authenticate = authenticate
        self.operations = OPERATIONS

    def route(self, path: str, method: str, *, summary: str, auth: Any = AUTHENTICATED,
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              response: type[BaseModel] | None = None, status: int = 200,
              tags: Iterable[str] = (), content_types: Iterable[str] = ("application/json",)):
        def decorator(view: Callable[[Call], Any]):
            op = Operation(method=method.upper(), path=path, name=view.__name__,
                           summary=summary, auth=auth, body=body, query=query,
                           response=response, status=status, tags=tuple(tags),
                           content_types=tuple(content_types))
            self.operations.append(op)

            @functools.wraps(view)
            def chalice_view(**path_params):
                return self._handle(op, view, path_params)

            self._app.route(path, methods=[op.method],
                            content_types=list(op.content_types))(chalice_view)
            return view

        return decorator

    def _handle(self, op: Operation, view, path_params):
        from chalice import Response

        request = self._app.current_request
        try:
            principal = None
            if op.auth not in (PUBLIC, OWN_SCHEME):
                principal = self._authenticate(request.headers.get("authorization"))
                if op.auth is not AUTHENTICATED:
                    principal.require_role(op.auth)
            raw = request.raw_body or b""
            parsed_body = None
            if op.body is not None:
                try:
                    parsed_body = op.body.model_validate(parse_json(raw))
                except ValidationError as exc:
                    return validation_error_response(exc, "body")
                if isinstance(parsed_body, RootModel):  # a union of shapes (e.g. segments)
                    parsed_body = parsed_body.root
            params = dict(request.query_params or {})
            parsed_query = None
            if op.query is not None:
                try:
                    parsed_query = op.query.model_validate(params)
                except ValidationError as exc:
                    return validation_error_response(exc, "query")
            result = view(Call(principal=principal, body=parsed_body, query=parsed_query,
                               path=path_params, headers=request.headers, raw_body=raw,
                               query_params=params))
        except SmileError as exc:
            if exc.status >= 500:
                log.exception("smile error %s", exc.code)
            body = exc.to_body()
            return Response(body=body, status_code=exc.status,
                            headers={"Content-Type": "application/json"})
        except ValidationError as exc:
            # A domain object refused a value the request model let through.
            return validation_error_response(exc, "body")
        except Exception:  # noqa: BLE001 - the one place that turns a bug into a clean 500
            log.exception("unhandled error in %s %s", op.method, op.path)
            return error_response(500, "INTERNAL_ERROR",
                                  "an internal error occurred; it has been logged")
        if isinstance(result, Response):
            return result
        if isinstance(result, Reply):
            headers = {"Content-Type": "application/json", **result.headers}
            return Response(body=_jsonable(result.body), status_code=result.status,
                            headers=headers)
        return Response(body=_jsonable(result), status_code=op.status,
                        headers={"Content-Type": "application/json"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (str, bytes)):
        return value
    return json.loads(json.dumps(value, default=str))


_CHALICE_CODES = {
    405: "METHOD_NOT_ALLOWED",
    415: "UNSUPPORTED_MEDIA_TYPE",
    400: "BAD_REQUEST",
    500: "INTERNAL_ERROR",
}


def normalize_chalice_errors(event, get_response):
    """Middleware: answers Chalice makes by itself get the project's error shape."""
    response = get_response(event)
    body = response.body
    if isinstance(body, dict) and "Code" in body and "Message" in body and "error" not in body:
        code = _CHALICE_CODES.get(response.status_code, "ERROR")
        response.body = {"error": {"code": code, "message": body["Message"]}}
    return response


def roles(*names: Role) -> tuple[Role, ...]:
    return tuple(names)


def optional_principal(call: Call) -> Principal | None:
    """Public routes that also accept a token (staff registering on someone's behalf)."""
    header = call.headers.get("authorization")
    return authenticate_bearer(header) if header else None
