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


ACCOUNT_MAX_FAILURES = 20
ADDRESS_MAX_FAILURES = 100


class LoginGuard:
    """Three throttles, so a dispatch room behind one NAT address is never locked out as a whole.

    * one person at one address: ``MAX_FAILURES`` misses (typos) block that pair only;
    * one account from anywhere: ``ACCOUNT_MAX_FAILURES`` block guessing that account's password
      spread over many addresses (that account waits out the window; the rest of the room goes on);
    * one address, any account: ``ADDRESS_MAX_FAILURES`` (password spraying) — high enough that a
      room's ordinary typos never reach it.

    A successful login clears that person's pair only.
    """

    def __init__(self, *, window_ms: int = WINDOW_MS) -> None:
        self.pair = LoginThrottle(max_failures=MAX_FAILURES, window_ms=window_ms)
        self.account = LoginThrottle(max_failures=ACCOUNT_MAX_FAILURES, window_ms=window_ms)
        self.address = LoginThrottle(max_failures=ADDRESS_MAX_FAILURES, window_ms=window_ms)

    def blocked(self, *, address: str, username: str, now_ms: int) -> str | None:
        """Which limit blocks this attempt (``pair``/``account``/``address``), or None."""
        name = username.strip().lower()
        if self.pair.blocked(f"{address}\x00{name}", now_ms=now_ms):
            return "pair"
        if self.account.blocked(name, now_ms=now_ms):
            return "account"
        if self.address.blocked(address, now_ms=now_ms):
            return "address"
        return None

    def record_failure(self, *, address: str, username: str, now_ms: int) -> None:
        name = username.strip().lower()
        self.pair.record_failure(f"{address}\x00{name}", now_ms=now_ms)
        self.account.record_failure(name, now_ms=now_ms)
        self.address.record_failure(address, now_ms=now_ms)

    def succeeded(self, *, address: str, username: str) -> None:
        self.pair.reset(f"{address}\x00{username.strip().lower()}")
