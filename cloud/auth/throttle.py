"""Login throttling, pure: at most ``max_failures`` failed logins per client within ``window_ms``."""

from __future__ import annotations

from collections import OrderedDict, deque

MAX_FAILURES = 10
WINDOW_MS = 5 * 60_000
MAX_CLIENTS = 10_000


class LoginThrottle:
    def __init__(
        self, *, max_failures: int = MAX_FAILURES, window_ms: int = WINDOW_MS, max_clients: int = MAX_CLIENTS
    ) -> None:
        self._max_failures = max_failures
        self._window_ms = window_ms
        self._max_clients = max_clients
        self._failures: OrderedDict[str, deque[int]] = OrderedDict()

    def blocked(self, client: str, *, now_ms: int) -> bool:
        failures = self._failures.get(client)
        if failures is None:
            return False
        while failures and failures[0] <= now_ms - self._window_ms:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return False
        return len(failures) >= self._max_failures

    def record_failure(self, client: str, *, now_ms: int) -> None:
        failures = self._failures.setdefault(client, deque(maxlen=self._max_failures))
        failures.append(now_ms)
        self._failures.move_to_end(client)
        while len(self._failures) > self._max_clients:
            self._failures.popitem(last=False)

    def reset(self, client: str) -> None:
        self._failures.pop(client, None)
