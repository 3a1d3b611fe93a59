"""The cloud's domain exception tree. HTTP status codes are assigned in one place: ``http_errors.py``."""

from __future__ import annotations


class CloudError(Exception):
    """Base of every domain error. ``field`` names the offending input field when there is one."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(CloudError):
    code = "not_found"


class InvalidInput(CloudError):
    """Input that is well-formed but refers to something that does not fit (e.g. an unknown device)."""

    code = "validation"


class Conflict(CloudError):
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class NotAuthenticated(CloudError):
    code = "unauthorized"


class Forbidden(CloudError):
    code = "forbidden"


class TooManyRequests(CloudError):
    code = "too_many_requests"


class Unavailable(CloudError):
    code = "unavailable"
