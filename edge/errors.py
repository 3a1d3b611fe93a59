"""The edge gateway's exception tree: one base class, a few specific ones."""

from __future__ import annotations


class EdgeError(Exception):
    """Base class for every error raised by the edge gateway (outside :mod:`edge.detection`)."""


class SettingsError(EdgeError):
    """A setting is missing or malformed."""


class OutboxError(EdgeError):
    """The outbox database could not be read or written."""


class CloudError(EdgeError):
    """Talking to the district center failed."""


class CloudUnavailable(CloudError):
    """The cloud did not answer usefully (connection error, timeout, 408/429/5xx): retry later.

    ``reachable``: it did answer (an HTTP status), it is just not able to take the request now.
    """

    def __init__(self, message: str, *, reachable: bool = False) -> None:
        super().__init__(message)
        self.reachable = reachable


class CloudRejected(CloudError):
    """The cloud refused the request for good (4xx other than 408/429): do not retry."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"cloud rejected the request: HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class SseError(EdgeError):
    """The command stream sent something that is not valid Server-Sent Events."""
