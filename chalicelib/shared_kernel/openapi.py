"""OpenAPI 3.1 document generated from the route registry and its pydantic models."""
from __future__ import annotations

import re
from typing import Iterable

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .http import AUTHENTICATED, OWN_SCHEME, PUBLIC, Operation

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "field": {"type": "string"}},
    }},
}


def build_openapi(operations: Iterable[Operation], *, title: str, version: str) -> dict:
    operations = list(operations)
    models: list[type[BaseModel]] = []
    for op in operations:
        for model in (op.body, op.query, op.response):
            if model is not None and model not in models:
                models.append(model)
    refs, defs = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    schemas = dict(defs.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA

    def ref(model):
        return refs[(model, "validation")]

    paths: dict[str, dict] = {}
    for op in operations:
        entry: dict = {
            "operationId": op.name,
            "summary": op.summary,
            "tags": list(op.tags),
            "responses": {
                str(op.status): {
                    "description": "success",
                    "content": {"application/json": {"schema": ref(op.response)}}
                    if op.response else {"application/json": {}},
                },
                "400": _error("invalid input"),
                "404": _error("not found"),
            },
        }
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in re.findall(r"{(\w+)}", op.path)]
        if op.query is not None:
            schema = op.query.model_json_schema()
            required = set(schema.get("required", []))
            for name, prop in schema.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": name in required,
                               "schema": prop})
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {
                ctype: {"schema": ref(op.body)} for ctype in op.content_types}}
        if op.auth == PUBLIC:
            entry["security"] = []
        elif op.auth == OWN_SCHEME:
            entry["security"] = []
            entry["description"] = "Authenticated by its own scheme (SNAP signature or webhook signature)."
        else:
            entry["security"] = [{"bearer": []}]
            entry["responses"]["401"] = _error("missing or invalid token")
            entry["responses"]["403"] = _error("role or branch not allowed")
            if op.auth != AUTHENTICATED:
                entry["x-roles"] = [r.value for r in op.auth]
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
    }


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
