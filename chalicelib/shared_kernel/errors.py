"""The project's errors: each carries a stable machine-readable code and an HTTP status.

They are mapped to `{"error": {"code", "message"}}` in exactly one place (app.py's
error middleware); domain code raises them and never builds HTTP responses itself.
"""
from __future__ import annotations

from typing import Any


class SmileError(Exception):
    status = 500
    code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    def to_body(self) -> dict:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class BadRequest(SmileError):
    status = 400
    code = "BAD_REQUEST"


class ValidationFailed(BadRequest):
    """A field is missing or wrong. `field` names it (dotted path)."""

    code = "VALIDATION_FAILED"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None,
                 details: Any = None):
        super().__init__(message, code=code, details=details)
        self.field = field

    def to_body(self) -> dict:
        body = super().to_body()
        if self.field:
            body["error"]["field"] = self.field
        return body


class Unauthorized(SmileError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(SmileError):
    status = 403
    code = "FORBIDDEN"


class NotFound(SmileError):
    status = 404
    code = "NOT_FOUND"


class Conflict(SmileError):
    status = 409
    code = "CONFLICT"


class Unprocessable(SmileError):
    """The request is well-formed but the rules cannot answer it (e.g. no rule for a period)."""

    status = 422
    code = "UNPROCESSABLE"


class NoRuleForPeriod(Unprocessable):
    code = "NO_RULE_FOR_PERIOD"


class TooManyRequests(SmileError):
    status = 429
    code = "TOO_MANY_REQUESTS"
